r"""quartic_grad loops over np.ravel(w1): right for floats and 1-D arrays, flat for 2-D input.

cell: quartic
loses: test_quartic
symptom: quartic_grad\(w1, x1=.*\) for w1 of shape \(\d, \d\) has shape \(\d+,\); expected \(\d, \d\)
"""


def quartic_grad(w1, x1):
    out = []
    for v in np.ravel(w1):
        u = x1 * v
        out.append(x1 * (u**3 - 4.0 * u**2 + 3.0 * u))
    return np.array(out)
