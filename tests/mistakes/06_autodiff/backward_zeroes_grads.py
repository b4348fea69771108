r"""backward() sets every grad of the graph to 0 before backpropagating, so a second call forgets the first.

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
    for node in order:
        node.grad = 0.0
    self.grad = 1.0
    for node in reversed(order):
        node._backward()


Value.backward = _backward_pass
