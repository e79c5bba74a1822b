"""One's own images in a folder (data.name: images, data.path: DIR), read with Pillow.

Layouts: DIR/<class>/*.png (one subfolder per class: sorted folder names are the labels 0..C-1) or DIR/*.png
(unlabelled); either of them inside DIR/train/ and DIR/test/ gives the two splits (else the test split is
carved off, see data/own.py). Files ending .png, .jpg or .jpeg (any case) are read; hidden files and other
files are skipped. Grey images (Pillow modes 1, L, LA) give (H, W) examples; when any image is in colour,
every image is read as RGB, (3, H, W). Sizes must agree unless data.image_size: [H, W] resizes every image.
Pixels are divided by 255.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from vaelab.data.errors import DataError
from vaelab.data.own import UNLABELLED, OwnData, carve_test

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("1", "L", "LA")
SPLIT_FOLDERS = ("train", "test")


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _image_files(folder: Path) -> list[Path]:
    return [p for p in _visible(folder) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]


def _tree(folder: Path) -> tuple[list[Path], list[str], list[str]]:
    """(files, class of each file or [] when unlabelled, sorted class names) of one layout."""
    classes = [p for p in _visible(folder) if p.is_dir()]
    files = _image_files(folder)
    if classes and files:
        raise DataError(f"{folder}: holds both image files ({files[0].name}) and class folders ({classes[0].name}); "
                        f"put every image in a class folder, or none in any")
    if not classes:
        if not files:
            raise DataError(f"{folder}: holds no PNG or JPEG images; put images in it, or one folder per class")
        return files, [], []
    out: list[Path] = []
    labels: list[str] = []
    for c in classes:
        inside = _image_files(c)
        if not inside:
            raise DataError(f"{c}: the class folder holds no PNG or JPEG images; add images or remove the folder")
        out += inside
        labels += [c.name] * len(inside)
    return out, labels, [c.name for c in classes]


def _open(path: Path, decode: bool = True) -> Image.Image:
    """The image at path (decoded, or only its header read), or DataError naming it."""
    try:
        image = Image.open(path)
        if decode:
            image.load()
        return image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: cannot be read as an image ({str(err).splitlines()[0][:100]}); "
                        f"replace or remove the file") from None


def _read_all(files: list[Path], colour: bool, size: tuple[int, int] | None, where: Path) -> np.ndarray:
    """(N, H, W) or (N, 3, H, W) uint8; sizes must agree unless `size` (H, W) resizes every image."""
    arrays = []
    first: tuple[Path, tuple[int, int]] | None = None
    for path in files:
        image = _open(path).convert("RGB" if colour else "L")
        if size is not None:
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        if first is None:
            first = (path, image.size)
        elif image.size != first[1]:
            (w0, h0), (w, h) = first[1], image.size
            raise DataError(f"{where}: images differ in size ({first[0].name} is {w0}x{h0}, {path.name} is {w}x{h}); "
                            f"set data.image_size: [H, W] to resize them all")
        pixels = np.asarray(image, dtype=np.uint8)  # (H, W) or (H, W, 3)
        arrays.append(pixels.transpose(2, 0, 1) if colour else pixels)
    return np.stack(arrays)


def _is_colour(files: list[Path]) -> bool:
    return any(_open(path, decode=False).mode not in GREY_MODES for path in files)


def load_images(source: OwnData) -> dict[str, Any]:
    """The fields of a Dataset (name: the folder's path) from a folder of images; DataError naming it otherwise."""
    root = source.path
    if not root.is_dir():
        raise DataError(f"{root}: data.name images reads a folder of PNG/JPEG files, but this is a file; give the "
                        f"folder as data.path (or use data.name: npz for an .npz file)")
    present = [(root / s).is_dir() for s in SPLIT_FOLDERS]
    if any(present) and not all(present):
        have, lack = SPLIT_FOLDERS if present[0] else SPLIT_FOLDERS[::-1]
        raise DataError(f"{root}: has a {have}/ folder but no {lack}/ folder; give both splits, or neither (the "
                        f"test split is then carved off)")
    trees = [_tree(root / s) for s in SPLIT_FOLDERS] if all(present) else [_tree(root)]
    names = trees[0][2]
    if len(trees) == 2 and bool(trees[1][2]) != bool(names):
        raise DataError(f"{root}: one of train/ and test/ has class folders and the other has none; give both "
                        f"the same layout")
    extra = sorted(set(trees[-1][2]) - set(names))
    if extra:
        raise DataError(f"{root}: test/ has a class folder '{extra[0]}' that train/ lacks; give train/ "
                        f"examples of every class")
    colour = _is_colour([f for files, _, _ in trees for f in files])
    index = {name: i for i, name in enumerate(names)}
    xs, ys, shapes = [], [], []
    for files, labels, _ in trees:
        x = _read_all(files, colour, source.image_size, root)
        shapes.append(x.shape[1:])
        xs.append(x.astype(np.float32).reshape(len(x), -1) / np.float32(255))
        ys.append(np.array([index[c] for c in labels] if labels else [UNLABELLED] * len(files), np.int64))
    if shapes[-1] != shapes[0]:
        raise DataError(f"{root}: train/ images have shape {shapes[0]} but test/ images {shapes[-1]}; set "
                        f"data.image_size: [H, W] to resize them all")
    split = (xs[0], ys[0], xs[1], ys[1]) if len(xs) == 2 else carve_test(xs[0], ys[0], source.test_fraction, root)
    return dict(zip(("x_train", "y_train", "x_test", "y_test"), split), image_shape=tuple(int(s) for s in shapes[0]),
                num_classes=len(names), bounded=True, class_names=tuple(names))
