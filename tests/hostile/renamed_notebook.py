"""The honest reference handed in as '02_layers (1).ipynb' (browser download); nothing under the expected name.

expect: ungradable
total: any
reason: renamed or missing|could not autograde
measured: nbgrader: "Skipping unknown notebook: .../02_layers (1).ipynb" then NbGraderException "No notebooks found, did you forget to run 'nbgrader generate_assignment'?"; could not be graded (the reason given to the instructor is only the generic "see the autograde log").
"""


def make(release, reference):
    return {"02_layers (1).ipynb": reference}
