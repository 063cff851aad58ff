"""Node ids of the pipeline's components: how runners, the run summary and tests find
executions in ML Metadata. Plain strings, importable without TensorFlow."""

EXAMPLE_GEN = "ImportExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "ImportSchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
DRIFT_VALIDATOR = "DriftValidator"  # DistributionValidator: newest span vs the previous one
ANOMALIES_GATE = "AnomaliesGate"
TRANSFORM = "Transform"
TRAINER = "Trainer"
RESOLVER = "latest_blessed_model_resolver"
EVALUATOR = "Evaluator"
PUSHER = "Pusher"
HF_PUSHER = "HFPusher"
