import numpy as np
from PIL import Image
from segmentation_data_prep.synthetic import BREEDS, synthetic_stem, write_synthetic_pet_dataset


def test_layout_values_and_sizes(tmp_path):
    root = write_synthetic_pet_dataset(tmp_path / "pets", 40, seed=1)
    images = sorted((root / "images").iterdir())
    trimaps = sorted((root / "annotations" / "trimaps").iterdir())
    assert len(images) == len(trimaps) == 40
    assert {p.suffix for p in images} == {".jpg"} and {p.suffix for p in trimaps} == {".png"}
    assert [p.stem for p in images] == [p.stem for p in trimaps]
    assert len(BREEDS) == 37 and synthetic_stem(0) == "Abyssinian_1"
    assert synthetic_stem(37) == "Abyssinian_2" and synthetic_stem(1) == "american_bulldog_1"
    sizes = set()
    for image_path, trimap_path in zip(images, trimaps):
        with Image.open(image_path) as image, Image.open(trimap_path) as trimap:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert trimap.format == "PNG" and trimap.mode == "L"
            assert image.size == trimap.size
            sizes.add(image.size)
            values, counts = np.unique(np.asarray(trimap), return_counts=True)
        assert values.tolist() == [1, 2, 3]  # pet, background and a border band, always
        fractions = counts / counts.sum()
        assert 0.03 < fractions[0] < 0.6 and fractions[1] > 0.3 and fractions[2] < 0.15
    assert len(sizes) > 30  # varied sizes
    lines = (root / "annotations" / "list.txt").read_text().splitlines()
    assert lines[3].split() == ["Abyssinian_1", "1", "1", "1"]


def test_border_band_separates_pet_from_background(tmp_path):
    root = write_synthetic_pet_dataset(tmp_path, 5)
    for path in (root / "annotations" / "trimaps").iterdir():
        trimap = np.asarray(Image.open(path))
        pet, background = trimap == 1, trimap == 2
        # No pet pixel touches a background pixel horizontally or vertically.
        assert not (pet[:, :-1] & background[:, 1:]).any() and not (pet[:-1] & background[1:]).any()
        assert not (background[:, :-1] & pet[:, 1:]).any() and not (background[:-1] & pet[1:]).any()


def test_deterministic_by_seed_and_independent_of_count(tmp_path):
    a = write_synthetic_pet_dataset(tmp_path / "a", 6, seed=7)
    b = write_synthetic_pet_dataset(tmp_path / "b", 3, seed=7)
    c = write_synthetic_pet_dataset(tmp_path / "c", 3, seed=8)
    for name in ["images/Abyssinian_1.jpg", "annotations/trimaps/american_bulldog_1.png"]:
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()


def test_pet_is_distinguishable_from_background(tmp_path):
    """The learnable signal: fur is high-frequency texture, the background is smooth."""
    root = write_synthetic_pet_dataset(tmp_path, 40)
    for path in (root / "images").iterdir():
        image = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        trimap = np.asarray(Image.open(root / "annotations" / "trimaps" / f"{path.stem}.png"))
        gradient = np.abs(np.diff(image, axis=1))[:-1] + np.abs(np.diff(image, axis=0))[:, :-1]
        labels = trimap[:-1, :-1]
        assert gradient[labels == 1].mean() > 2.5 * gradient[labels == 2].mean(), path.name


def test_shape_and_texture_parameters_change_the_set(tmp_path):
    """pet_scale and fur_period draw another distribution (same seed, same sizes)."""
    default = write_synthetic_pet_dataset(tmp_path / "a", 12, seed=5)
    other = write_synthetic_pet_dataset(
        tmp_path / "b", 12, seed=5, pet_scale=0.6, fur_period=(14.0, 20.0)
    )
    pet_share, gradients = {}, {}
    for name, root in (("default", default), ("other", other)):
        trimaps = [np.asarray(Image.open(p)) for p in sorted(root.glob("annotations/trimaps/*"))]
        pet_share[name] = np.mean([np.mean(t == 1) for t in trimaps])
        images = [
            np.asarray(Image.open(p).convert("L"), np.float32)
            for p in sorted(root.glob("images/*"))
        ]
        gradients[name] = np.mean(
            [np.abs(np.diff(i, axis=1))[t[:, 1:] == 1].mean() for i, t in zip(images, trimaps)]
        )
    assert pet_share["other"] < 0.6 * pet_share["default"]
    assert gradients["other"] < 0.8 * gradients["default"]  # coarser fur: less change per pixel
