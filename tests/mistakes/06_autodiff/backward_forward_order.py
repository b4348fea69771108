r"""backward() runs the nodes' _backward in forward (creation) order instead of reversed.

cell: value
loses: test_backward
symptom: backward\(\): .*the gradient of x\d+ is
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
    self.grad = 1.0
    for node in order:
        node._backward()


Value.backward = _backward_pass
