"""The GCP settings the Vertex tests compile with: placeholder names, never a real project."""

IMAGE = "europe-west4-docker.pkg.dev/test-project/segmentation/pipeline:abc123"
FAKE_TOKEN = "hf_FAKEtokenValue0123456789abcdef"
GCP_FLAGS = [
    "--project",
    "test-project",
    "--region",
    "europe-west4",
    "--bucket",
    "test-bucket",
    "--pipeline-name",
    "seg-test",
    "--image-uri",
    IMAGE,
    "--hf-model-repo-id",
    "someone/segmentation",
]
