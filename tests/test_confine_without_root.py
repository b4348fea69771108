"""Where namespaces cannot be used, the sandbox applies the resource limits
and reports what it could not apply (the grader then warns once, loudly)."""

import json
import subprocess
import sys

PROBE = """
import json, os, resource
os.geteuid = lambda: 1000  # behave as an unprivileged grader would
from dlcourse.sandbox import confine
report = confine.enter(limits={"cpu_seconds": 77, "file_bytes": 12345})
report["cpu"] = resource.getrlimit(resource.RLIMIT_CPU)[0]
report["fsize"] = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
print(json.dumps(report))
"""


def test_without_root_only_limits_apply_and_the_rest_is_reported():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    ).stdout
    report = json.loads(out)
    assert report["cpu"] == 77 and report["fsize"] == 12345
    assert {"network", "file system", "process namespace"} <= set(report["missing"])
    assert {"CPU time", "memory", "file size"} <= set(report["applied"])
