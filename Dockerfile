# syntax=docker/dockerfile:1
# The pipeline image: one image for every remote step. Vertex AI Pipelines runs the TFX components
# in it, Vertex AI Training runs the Trainer in it, and Dataflow uses it as the custom SDK container
# of the Beam steps (ExampleGen, StatisticsGen, Transform, Evaluator, data_prep). It holds exactly
# the environment the tests run: requirements.lock (hash-checked, resolved for Python 3.11 with
# uv.toml's metadata for tfx), plus packages/.
#
# Build from the repository root (the CD workflow does this and pushes to Artifact Registry):
#   docker build -t REGION-docker.pkg.dev/PROJECT/tfx-seg/pipeline:TAG .
# The versions below must match the lock; infra/tests/test_dockerfile.py checks that they do.

ARG BEAM_VERSION=2.60.0

# Beam's SDK worker harness (the `boot` launcher and what it needs), for Dataflow workers. It
# must be the Beam version the pipeline is launched with, and for the same Python (3.11).
FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS beam_sdk

FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9

COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam

# TFX 1.16 needs Keras 2 (tf_keras); every process in the image, in every service, sees this.
ENV TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1

WORKDIR /opt/pipeline

# The locked environment first: its layer is rebuilt only when the lock changes.
COPY requirements.lock uv.toml ./
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv pip install --system --require-hashes -r requirements.lock \
    && python -c "from google.protobuf.internal import api_implementation as a; assert a.Type() == 'upb', a.Type()"

# The project's packages, installed (not editable) so the image does not depend on this source tree.
COPY packages/ packages/
RUN uv pip install --system --no-deps packages/*/ \
    && python -c "import apache_beam, tfx, segmentation_data_prep, segmentation_model, segmentation_pipeline, segmentation_space_app, tfx_hf_pusher"

# Runs as root: Dataflow starts the SDK harness in this container with worker directories owned
# by root and expects the harness to write to them, so a non-root USER breaks the Dataflow steps
# (Vertex AI Training and Pipelines pass their own command and would run either way). No secret is
# baked in: the Hugging Face token is read from Secret Manager at run time.

# Dataflow requires /opt/apache/beam/boot as the entrypoint. Vertex AI Pipelines and Training
# override it with the TFX executor command of each step.
ENTRYPOINT ["/opt/apache/beam/boot"]
