"""Reports for instructors: per-cell exports, Gradescope results, a course summary."""
