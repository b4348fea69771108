"""A cell's printed output is capped in bytes, not only in lines."""

import nbformat

from dlcourse.nbgrader_ext.output_cap import CapOutputBytes


def test_huge_output_is_cut_and_says_so():
    cell = nbformat.v4.new_code_cell("print('x' * 10**8)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="x" * 10**6),
        nbformat.v4.new_output("stream", name="stdout", text="y" * 10**6),
        nbformat.v4.new_output("execute_result", data={"text/plain": "1.0"}, execution_count=1),
    ]
    cap = CapOutputBytes(max_bytes=1000)
    cell, _ = cap.preprocess_cell(cell, {}, 0)
    texts = [o.text for o in cell.outputs if o.output_type == "stream"]
    assert len(texts) == 1 and texts[0].startswith("x" * 1000)
    assert "999,000 more characters of output were cut" in texts[0]
    assert cell.outputs[-1].output_type == "execute_result"  # scores are never cut


def test_small_output_is_untouched():
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    cell, _ = CapOutputBytes(max_bytes=1000).preprocess_cell(cell, {}, 0)
    assert cell.outputs[0].text == "1\n"
