r"""Chain rule factor x1 dropped: dJ/du written instead of dJ/dw1.

cell: quartic
loses: test_quartic
symptom: quartic_grad\(w1, x1=.*\) is wrong.*a factor x1
"""


def quartic_grad(w1, x1):
    u = x1 * np.asarray(w1, dtype=float)
    return u**3 - 4.0 * u**2 + 3.0 * u
