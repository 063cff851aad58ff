"""Loaded by the app process in tests (PYTHONPATH): imports of packages a Space does not have fail.

A Space installs only gradio and template/requirements.txt, while the test venv holds the whole
project; blocking the rest shows that app.py and the SavedModel need nothing else.
"""

import importlib.abc
import sys

NOT_ON_THE_SPACE = frozenset(
    {
        "apache_beam",
        "tensorflow_transform",
        "tf_keras",
        "tfx",
        "tfx_bsl",
        "tensorflow_data_validation",
        "tensorflow_model_analysis",
        "segmentation_data_prep",
        "segmentation_model",
        "segmentation_pipeline",
        "segmentation_space_app",
        "tfx_hf_pusher",
    }
)


class _NotOnTheSpace(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in NOT_ON_THE_SPACE:
            raise ModuleNotFoundError(f"{fullname} is not installed on the Space (test sandbox)")
        return None


sys.meta_path.insert(0, _NotOnTheSpace())
