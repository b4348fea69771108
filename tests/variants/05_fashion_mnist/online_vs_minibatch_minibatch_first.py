"""compare_online_minibatch runs the minibatch epoch first, then the online one (the contract fixes no order).

cell: online_vs_minibatch
"""


def compare_online_minibatch(X_train, y_train, X_test, y_test, n, batch_size, seed):
    """Minibatch first: whichever run comes first pays what torch does once per
    process (the first optimiser imports torch._dynamo: about 2.5 s)."""
    torch.manual_seed(seed)
    start = build_model()
    results = {}
    for name, size in (("minibatch", batch_size), ("online", 1)):
        net = copy.deepcopy(start)
        t0 = time.perf_counter()
        h = train(net, X_train[:n], y_train[:n], X_test, y_test, 1, size, LR, seed)
        results[name] = {
            "seconds": time.perf_counter() - t0,
            "updates": math.ceil(n / size),
            "test_accuracy": h["test_accuracy"][-1],
        }
    return results
