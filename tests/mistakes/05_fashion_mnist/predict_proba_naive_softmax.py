r"""A hand-written softmax exp(z) / sum exp(z) that overflows for large logits.

cell: predict_proba
loses: test_predict_proba
symptom: NaN or infinity
"""


def predict_proba(model, X):
    model.eval()
    with torch.no_grad():
        e = torch.exp(model(X))
        return (e / e.sum(dim=1, keepdim=True)).numpy()
