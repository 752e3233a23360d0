"""Lowering of kernforge IR to Apache TVM: TE computes per op, schedules per target, one build."""
