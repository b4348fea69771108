"""Class 5: a blank notebook displays HTML, SVG, Markdown and JavaScript outputs carrying script (display(HTML(...)), an SVG with onload, Javascript(...)); none may be live in the feedback page.

expect: graded
total: 0
"""

from _attack import blank_with

CODE = """
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("<b>bold</b><script>window.HOSTILE_XSS = 6</script><img src=x onerror='window.HOSTILE_XSS = 7'>"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="window.HOSTILE_XSS = 8"><script>window.HOSTILE_XSS = 9</script></svg>'))
display(Javascript("window.HOSTILE_XSS = 10"))
display(Markdown("<img src=x onerror='window.HOSTILE_XSS = 11'>"))
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
