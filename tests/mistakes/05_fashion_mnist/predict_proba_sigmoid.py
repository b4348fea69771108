r"""Sigmoid of each logit instead of a softmax over the classes.

cell: predict_proba
loses: test_predict_proba
symptom: sum to one
"""


def predict_proba(model, X):
    model.eval()
    with torch.no_grad():
        return torch.sigmoid(model(X)).numpy()
