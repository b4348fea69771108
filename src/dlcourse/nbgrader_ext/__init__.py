"""The course's extensions to nbgrader, wired in through nbgrader_config.py."""
