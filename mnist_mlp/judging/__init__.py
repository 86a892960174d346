"""Judging: the accuracy and speed gates, the paired comparisons and their statistics, the
configuration as trained and its diff, the matrix of several envs and the upgrade verdict."""
