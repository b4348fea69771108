r"""backward() never sets the output's grad to 1, so every gradient stays 0.

cell: value
loses: test_backward
symptom: backward\(\) starts from grad = 1
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
    for node in reversed(order):
        node._backward()


Value.backward = _backward_pass
