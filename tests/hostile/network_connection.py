"""The reference, plus code in the first answer cell that opens network connections (TCP to 1.1.1.1:80, DNS + HTTPS to pypi.org), reporting what worked.

expect: graded
total: full
measured: "Network is unreachable" for 1.1.1.1:80 and 127.0.0.1:22, "Temporary failure in name resolution" for pypi.org; 22/22.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


PROBE = """

import socket as _s
for _host, _port in (("1.1.1.1", 80), ("pypi.org", 443), ("127.0.0.1", 22)):
    try:
        _c = _s.create_connection((_host, _port), timeout=3)
        print("NETWORK CONNECTED", _host, _port)
        _c.close()
    except Exception as _e:
        print("NETWORK BLOCKED", _host, _port, repr(_e))
"""


def make(release, reference):
    _cell(reference, "activations").source += PROBE
    return {"02_layers.ipynb": reference}
