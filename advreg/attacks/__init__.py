"""The attacks: the white-box attacks of both papers (``whitebox``) and their torch-free registry
(``kinds``), the strong AutoAttack-style check (``strong``, ``strong_kinds``), the LRC noise attack
(``lrc``) and the softmax along a line (``trajectories``)."""
