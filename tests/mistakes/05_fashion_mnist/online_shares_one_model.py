r"""Both runs train the same model object, so the minibatch run starts where online ended.

cell: online_vs_minibatch
loses: test_online
symptom: it is the accuracy of a minibatch epoch that starts where the online run ended; train each run on its own copy
"""


def compare_online_minibatch(X_train, y_train, X_test, y_test, n, batch_size, seed):
    torch.manual_seed(seed)
    net = build_model()
    results = {}
    for name, size in (("online", 1), ("minibatch", batch_size)):
        t0 = time.perf_counter()
        h = train(net, X_train[:n], y_train[:n], X_test, y_test, 1, size, LR, seed)
        results[name] = {
            "seconds": time.perf_counter() - t0,
            "updates": math.ceil(n / size),
            "test_accuracy": h["test_accuracy"][-1],
        }
    return results
