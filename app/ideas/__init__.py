"""Ideas: the community's suggestions, with one vote per user, comments and a status that
administrators set."""
