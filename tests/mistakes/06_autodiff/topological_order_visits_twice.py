r"""The topological sort has no visited set, so a node reached along two paths is processed twice.

cell: value
loses: test_backward
symptom: backward\(\): in the diamond a = x \*\* 2, b = a \* 2, c = a \* 3, d = b \* c
"""


def _backward_pass(self):
    order = []

    def visit(node):
        for child in node._prev:
            visit(child)
        order.append(node)

    visit(self)
    self.grad = 1.0
    for node in reversed(order):
        node._backward()


Value.backward = _backward_pass
