"""Which model serves by default, importable without torch (the gateway's settings read it)."""

DEFAULT_MODEL = "c3d_convlstm_fer"
"""The two-branch video model, distilled from the teacher: it beats the teacher on the
subject-disjoint development split without losing any class's recall (see the model card)."""

TEACHER_MODEL = "mini_xception_fer2013"
