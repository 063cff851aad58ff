"""Command line of the data_prep job: `seg-data-prep` / `python -m segmentation_data_prep`.

Arguments are parsed and checked before Apache Beam is imported (~10-40 s here), so a bad value
answers at once; library warnings (FutureWarning, ...) are hidden unless --verbose.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import shutil
import sys
import tempfile
import warnings

from segmentation_data_prep import record_format
from segmentation_data_prep.dataset_spec import LAYOUTS, DatasetSpecError, read_spec
from segmentation_data_prep.presets import DEFAULT_PRESET, PRESETS, preset
from segmentation_data_prep.settings import (
    DEFAULT_EVAL_FRACTION,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_PIXELS,
    EXAMPLES_PER_SHARD,
    SPLIT_MODES,
    DataPrepError,
    check_settings,
)
from segmentation_data_prep.spans import check_span

REPORT_NAME = record_format.REPORT_NAME
MEBIBYTE = 1024 * 1024

EPILOG = f"""\
Apache Beam options: every argument not listed above is passed to Beam as a pipeline option.
  Local (default): the DirectRunner in one thread, i.e.
    --direct_running_mode in_memory --direct_num_workers 1
  with the examples processed by one worker process per core (--local-processes; measured
  faster than Beam's worker threads or processes on 2 cores). Another running mode replaces
  that choice (and turns the worker processes off), e.g.
    --direct_running_mode multi_threading --direct_num_workers 0
  Google Cloud Dataflow (same code; input and output on gs://):
    --runner DataflowRunner --project PROJECT --region REGION
    --temp_location gs://BUCKET/tmp
    --sdk_container_image IMAGE   workers need this package: use the pipeline image built by
                                  infra/ (recommended), or --setup_file packages/data_prep/setup.py
                                  from a source checkout, or --extra_package WHEEL
    --max_num_workers N --machine_type n2-standard-4 ...   any other Dataflow option
  Unknown options (typos) are an error, not silently ignored.

Output: <out>/train/train-00000-of-0000N{record_format.SHARD_SUFFIX}, <out>/eval/eval-...,
<out>/{REPORT_NAME} (counts per split and every rejected file with a named reason and a fix),
written last: the shards go to a staging directory in <out> and are moved into place when
the job succeeds, so a failed run leaves the previous output (or nothing), never a partial one.
With --span N, all of this goes to <out>/span-N/ and every other span is left as it is.
Exit status: 0 when at least one example was written (rejections are in the report), 1 when
nothing usable remains or the job cannot run, 2 on bad arguments.

Example:
  seg-data-prep --input-dir gs://my-bucket/oxford-iiit-pet --output-dir gs://my-bucket/tfrecords \\
    --runner DataflowRunner --project my-project --region europe-west1 \\
    --temp_location gs://my-bucket/tmp --sdk_container_image europe-docker.pkg.dev/...
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seg-data-prep",
        description="Turn an image segmentation dataset into compact TFRecord shards (PNG uint8 "
        "image + PNG mask of class ids) split into train and eval, with an Apache Beam job. "
        "The dataset spec (--preset or --dataset-spec) names the classes and how masks encode "
        "them; the layout is the Oxford-IIIT Pet one (images/<stem>.jpg + "
        "annotations/trimaps/<stem>.png with 1 = pet, 2 = background, 3 = border), images/ + "
        "masks/, or a Hugging Face dataset repo's parquet files (--hf-dataset or a copy).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--input-dir",
        help="dataset root in the --layout (images/ and annotations/trimaps/, images/ and "
        "masks/, or a dataset repo's parquet files); local path or gs://bucket/path",
    )
    source.add_argument(
        "--hf-dataset",
        metavar="REPO",
        help="download this Hugging Face dataset repo's parquet files (e.g. "
        "segments/sidewalk-semantic) at --revision and read them (layout hf-parquet); the "
        "token comes from HF_TOKEN or the huggingface_hub login, never from a flag",
    )
    parser.add_argument(
        "--revision",
        default="main",
        help="branch, tag or commit of --hf-dataset; resolved to a commit, which the report "
        "records (default: %(default)s)",
    )
    parser.add_argument(
        "--hub-endpoint",
        default=None,
        help="Hub URL for --hf-dataset (default: HF_ENDPOINT or https://huggingface.co)",
    )
    spec = parser.add_mutually_exclusive_group()
    spec.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=DEFAULT_PRESET,
        help="a dataset the project knows (default: %(default)s)",
    )
    spec.add_argument(
        "--dataset-spec",
        metavar="FILE",
        help="a dataset spec JSON file (classes, void label, colours, layout, mask encoding; "
        "see segmentation_data_prep.dataset_spec)",
    )
    parser.add_argument(
        "--layout",
        choices=LAYOUTS,
        default=None,
        help="input layout (default: the spec's; hf-parquet with --hf-dataset)",
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_MODES,
        default="hash",
        help="hash: stable hash of each stem, --eval-fraction to eval; official: the "
        "dataset's own split (Pet: annotations/trainval.txt -> train, test.txt -> eval; "
        "parquet: train -> train, validation/test -> eval) (default: %(default)s)",
    )
    parser.add_argument(
        "--output-dir",
        required=True,
        help="where train/, eval/ and report.json go (local path or gs://)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=record_format.DEFAULT_IMAGE_SIZE,
        help="side of the square images and masks written, in pixels; images "
        "are resized with a Lanczos filter, masks with nearest neighbour "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--eval-fraction",
        type=float,
        default=DEFAULT_EVAL_FRACTION,
        help="share of examples in the eval split, chosen by a stable hash of "
        "the file stem so every run and runner splits the same way "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--num-train-shards",
        type=int,
        default=None,
        help=f"number of train shard files (default: one per {EXAMPLES_PER_SHARD} train pairs)",
    )
    parser.add_argument(
        "--num-eval-shards",
        type=int,
        default=None,
        help=f"number of eval shard files (default: one per {EXAMPLES_PER_SHARD} eval pairs)",
    )
    parser.add_argument(
        "--png-compress-level",
        type=int,
        default=record_format.DEFAULT_PNG_COMPRESS_LEVEL,
        choices=range(10),
        metavar="0..9",
        help="zlib level of the stored PNGs: higher is smaller "
        "and slower to write, decoding speed is the same (default: %(default)s)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=DEFAULT_MAX_PIXELS,
        help="refuse (as image_too_large / mask_too_large) any file declaring more pixels, "
        "before decoding it: a guard against decompression bombs (default: %(default)s)",
    )
    parser.add_argument(
        "--max-file-mb",
        type=float,
        default=DEFAULT_MAX_FILE_BYTES / MEBIBYTE,
        help="refuse any image or trimap file larger than this many MiB (default: %(default)s)",
    )
    parser.add_argument(
        "--local-processes",
        type=int,
        default=None,
        metavar="N",
        help="local runs: process examples in N worker processes (1: in Beam's own workers; "
        "default on Linux: every usable core when there are 50 examples or more)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the shards and report of a previous run in --output-dir once the new "
        "run succeeds (without it, existing outputs are an error: stale shards would match "
        "the split globs)",
    )
    parser.add_argument(
        "--span",
        type=int,
        default=None,
        metavar="N",
        help="write the output as span N of --output-dir (<out>/span-N/train, eval and its "
        "report.json), leaving every other span untouched; an existing span is an error "
        "(spans are never rewritten). The pipeline reads spans with train_spans_window",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (local runs show one on stderr)"
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show library warnings and Apache Beam's INFO log (hidden by default)",
    )
    return parser


def _misspelt_own_flags(parser: argparse.ArgumentParser, beam_args: list[str]) -> list[str]:
    """Leftover flags that look like ours (e.g. --image_size): caught without importing Beam."""
    ours = [option for action in parser._actions for option in action.option_strings]
    messages = []
    for arg in beam_args:
        flag = arg.split("=", 1)[0]
        if not flag.startswith("--"):
            continue
        close = difflib.get_close_matches(flag.replace("_", "-"), ours, n=1, cutoff=0.9)
        if close:
            messages.append(f"{flag} (did you mean {close[0]}?)")
    return messages


def _unknown_beam_options(beam_args: list[str]) -> list[str]:
    from apache_beam.options.pipeline_options import PipelineOptions

    options = PipelineOptions(beam_args)
    known = options.get_all_options()
    return sorted(set(options.get_all_options(retain_unknown_options=True)) - set(known))


def configure_logging(verbose: bool = False) -> None:
    """Our progress at INFO; Beam at WARNING, minus one misleading line (crcmod's C extension
    is installed and fast; Beam only looks for python-snappy first). Library FutureWarnings
    and deprecation notices only with `verbose`."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.getLogger("segmentation_data_prep").setLevel(logging.INFO)
    if not verbose:
        logging.getLogger("apache_beam.io.tfrecordio").setLevel(logging.ERROR)
        for category in (FutureWarning, DeprecationWarning, UserWarning):
            warnings.filterwarnings("ignore", category=category)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, beam_args = parser.parse_known_args(argv)
    misspelt = _misspelt_own_flags(parser, beam_args)
    if misspelt:
        parser.error(f"unrecognized arguments: {', '.join(misspelt)}")
    # Checked here, before the heavy imports, and handed as they are to the job.
    settings = {
        "image_size": args.image_size,
        "eval_fraction": args.eval_fraction,
        "png_compress_level": args.png_compress_level,
        "num_train_shards": args.num_train_shards,
        "num_eval_shards": args.num_eval_shards,
        "max_pixels": args.max_pixels,
        "max_file_bytes": int(args.max_file_mb * MEBIBYTE),
        "local_processes": args.local_processes,
    }
    try:
        check_settings(**settings)
        if args.span is not None:
            check_span(args.span)
    except DataPrepError as error:
        parser.error(str(error))
    if args.span is not None and args.overwrite:
        parser.error("--overwrite does not apply to --span: spans are never rewritten")
    try:
        spec = read_spec(args.dataset_spec) if args.dataset_spec else preset(args.preset)
    except DatasetSpecError as error:
        parser.error(str(error))
    layout = args.layout or ("hf-parquet" if args.hf_dataset else spec.layout)
    if args.hf_dataset and layout != "hf-parquet":
        parser.error(f"--hf-dataset reads parquet files: --layout {layout} does not apply")
    configure_logging(args.verbose)
    unknown = _unknown_beam_options(beam_args)
    if unknown:
        parser.error(
            "unrecognized arguments (neither a data_prep flag nor an Apache Beam pipeline "
            f"option): {', '.join('--' + name for name in unknown)}"
        )
    from segmentation_data_prep.beam_job import run_data_prep
    from segmentation_data_prep.hub_dataset import download_hub_dataset
    from segmentation_data_prep.inputs import InputError
    from segmentation_data_prep.report import summary_line

    download_dir = tempfile.mkdtemp(prefix="seg_data_prep_hub_") if args.hf_dataset else None
    try:
        hub_dataset = None
        if args.hf_dataset:
            hub_dataset = download_hub_dataset(
                args.hf_dataset, args.revision, download_dir, endpoint=args.hub_endpoint
            )
        report = run_data_prep(
            hub_dataset.local_dir if hub_dataset else args.input_dir,
            args.output_dir,
            spec=spec,
            layout=layout,
            split=args.split,
            hub_dataset=hub_dataset,
            overwrite=args.overwrite,
            span=args.span,
            show_progress=not args.no_progress,
            beam_args=beam_args,
            **settings,
        )
    except (DataPrepError, InputError) as error:
        print(f"seg-data-prep: error: {error}", file=sys.stderr)
        return 1
    finally:
        if download_dir:
            shutil.rmtree(download_dir, ignore_errors=True)
    print(summary_line(report))
    print(f"report: {report['output_dir']}/{REPORT_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
