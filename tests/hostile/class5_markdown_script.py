"""Class 5: the theory answer (a markdown cell) holds <script>, <img onerror=...fetch('/api/kernels')>, an <svg onload>, a javascript: link and an iframe; none may be live in the feedback page or in what formgrader renders.

expect: graded
total: 0
"""

import copy

from _attack import cell_of

XSS = """My answer.

<script>fetch('/api/kernels').then(r => r.text()).then(t => document.title = 'HOSTILE-XSS' + t)</script>
<img src=x onerror="fetch('/api/kernels', {method: 'POST'}); window.HOSTILE_XSS = 1">
<svg onload="window.HOSTILE_XSS = 2"><circle r="4"/></svg>
<a href="javascript:window.HOSTILE_XSS=3">click</a> [also](javascript:window.HOSTILE_XSS=4)
<iframe src="http://127.0.0.1:8888/tree"></iframe>
<IMG SRC=x OnErRoR=window.HOSTILE_XSS=5>
"""


def make(release, reference):
    nb = copy.deepcopy(release)
    cell_of(nb, "theory_sigmoid").source = XSS
    return {"02_layers.ipynb": nb}
