"""The names HFPusher's spec and executor share: channels, parameters, output properties.

Its own module because ``component.py`` imports the executor: both read the names from here.
"""

from __future__ import annotations

# Channels.
MODEL_KEY = "model"
MODEL_BLESSING_KEY = "model_blessing"
EVALUATION_KEY = "evaluation"
EXAMPLES_KEY = "examples"  # the Examples the model was trained on (their spans)
DRIFT_KEY = "drift"  # a DistributionValidator's anomalies: the drift before training
PUSHED_MODEL_KEY = "pushed_model"

# Execution parameters.
REPO_ID_KEY = "repo_id"
PRIVATE_KEY = "private"
ENDPOINT_KEY = "endpoint"
TOKEN_ENV_VAR_KEY = "token_env_var"  # noqa: S105 (the name of a variable, not a token)
TOKEN_SECRET_KEY = "token_secret"  # noqa: S105 (the name of a secret, not a token)
MODEL_CARD_KEY = "model_card"
MODEL_INFO_FILE_KEY = "model_info_file"
SPACE_REPO_ID_KEY = "space_repo_id"
SPACE_TEMPLATE_KEY = "space_template"
SPACE_SDK_KEY = "space_sdk"
SPACE_PRIVATE_KEY = "space_private"
SPACE_PLACEHOLDERS_KEY = "space_placeholders"
LABELS_KEY = "labels"  # JSON text: the labels file published next to saved_model.pb
CLASS_METRICS_KEY = "class_metrics"  # JSON text: class id -> name of its IoU metric

# Custom properties of the PushedModel output (``pushed``, ``pushed_destination`` and
# ``pushed_version`` follow the standard Pusher; the rest are copied from PublishResult).
PUSHED_PROPERTY = "pushed"
PUSHED_DESTINATION_PROPERTY = "pushed_destination"
PUSHED_VERSION_PROPERTY = "pushed_version"
RESULT_PROPERTIES = ("repo_id", "branch", "commit_id", "repo_url", "space_url")
