r"""backward() adds 1 to the output's grad (self.grad += 1) instead of setting it, so a second call seeds 2.

cell: value
loses: test_backward
symptom: after y = x \* x; y\.backward\(\); y\.backward\(\), at .*, x\.grad
"""


def _backward_pass(self):
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                visit(child)
            order.append(node)

    visit(self)
    self.grad += 1.0
    for node in reversed(order):
        node._backward()


Value.backward = _backward_pass
