"""Runner file for the TFX CLI: `tfx pipeline compile --engine vertex --pipeline-path <this file>`.

The CLI executes this file as __main__ without arguments, so the configuration comes from the
SEGPIPE_* environment variables (e.g. SEGPIPE_PROJECT, SEGPIPE_BUCKET, SEGPIPE_IMAGE_URI).
"""

from segmentation_pipeline.config import TARGET_VERTEX, load_config
from segmentation_pipeline.vertex import compile_pipeline

if __name__ == "__main__":
    config = load_config()
    config.validate_for(TARGET_VERTEX)
    compile_pipeline(config, f"{config.pipeline_name}_pipeline.json")
