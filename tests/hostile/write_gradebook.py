"""The reference, plus code in the first answer cell that tries to write gradebook.db with sqlite3 (give itself 99 points, add a table 'pwned') by relative and absolute path.

expect: graded
total: full
measured: sqlite3 on ../../../gradebook.db opens a NEW empty database in the sandbox's throwaway layer ("no such table: grade"; the second path is then "database is locked" by that first connection); open(..., "r+b") "succeeds" on the same throwaway layer. The real gradebook: no table pwned, no manual_score 99, integrity_check ok. 22/22.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


PROBE = """

import os as _os, sqlite3 as _sq
for _p in ("../../../gradebook.db", _os.path.abspath("../../../gradebook.db")):
    try:
        _con = _sq.connect(_p, timeout=2)
        _con.execute("create table if not exists pwned (x text)")
        _con.execute("insert into pwned values ('PWNED')")
        _con.execute("update grade set manual_score = 99")
        _con.commit()
        print("GRADEBOOK WRITTEN", _p)
    except Exception as _e:
        print("GRADEBOOK NOT WRITTEN", _p, repr(_e))
    try:
        with open(_p, "r+b") as _fh:
            print("GRADEBOOK OPENED FOR WRITING", _p)
    except Exception as _e:
        print("GRADEBOOK NOT OPENED FOR WRITING", _p, repr(_e))
"""


def make(release, reference):
    _cell(reference, "activations").source += PROBE
    return {"02_layers.ipynb": reference}
