"""The folder source: metadata.csv rows to records with file:// image URLs; bad rows are failures."""

import asyncio
import shutil
from pathlib import Path

import pytest

from backend.errors import ArtsearchError
from etl.run import SAMPLE_COLLECTION
from etl.sources.base import Partition
from etl.sources.folder import FolderSource
from tests.helpers import FIXTURES

IMAGES = FIXTURES / "images"


def make_folder(tmp_path: Path, rows: list[str]) -> Path:
    (tmp_path / "sub").mkdir(parents=True)
    shutil.copy(IMAGES / "866.jpg", tmp_path / "866.jpg")
    shutil.copy(IMAGES / "874.jpg", tmp_path / "sub" / "874.jpg")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "metadata.csv").write_text("file,title,artist,date,url\n" + "\n".join(rows) + "\n")
    return tmp_path


def test_rows_become_records_and_bad_rows_failures(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path,
        [
            "866.jpg,Helena Tromper Du Bois,Anthony van Dyck,c. 1631,https://example.org/866",
            "sub/874.jpg,Landscape,,1868–70,",
            "missing.jpg,Gone,,,",
            "866.jpg,,,,",
            "notes.txt,Notes,,,",
            "../866.jpg,Escape,,,",
        ],
    )
    source = FolderSource(folder)
    (partition,) = asyncio.run(source.partitions(None))
    page = asyncio.run(source.fetch_page(None, partition, partition.cursor))
    first, second = page.records
    assert first.source_id == "866.jpg" and first.image_url == (folder / "866.jpg").resolve().as_uri()
    assert (first.title, first.maker, first.year_start, first.page_url) == (
        "Helena Tromper Du Bois", "Anthony van Dyck", 1631, "https://example.org/866"
    )  # fmt: skip
    assert second.source_id == "sub/874.jpg" and (second.year_start, second.year_end) == (1868, 1870)
    assert (first.institution, first.object_number) == (None, None)  # columns the csv does not have
    assert [r for _, r in page.failures] == [
        "bad record: file not found",
        "bad record: missing title",
        "bad record: not an image file",
        "bad record: file path with '..'; give it inside the folder",
    ]
    assert page.next_cursor is None


def test_institution_and_object_number_columns_are_credits(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, [])
    (folder / "metadata.csv").write_text(
        "file,title,institution,object_number\n"
        "866.jpg,Helena Tromper Du Bois, Art Institute of Chicago ,1922.4467\n"
        "sub/874.jpg,Landscape,,\n"
    )
    source = FolderSource(folder)
    (partition,) = asyncio.run(source.partitions(None))
    credited, blank = asyncio.run(source.fetch_page(None, partition, partition.cursor)).records
    assert (credited.institution, credited.object_number) == ("Art Institute of Chicago", "1922.4467")
    assert (blank.institution, blank.object_number) == (None, None)


def test_the_bundled_sample_credits_its_museum() -> None:
    source = FolderSource(SAMPLE_COLLECTION)
    (partition,) = asyncio.run(source.partitions(None))
    page = asyncio.run(source.fetch_page(None, partition, partition.cursor))
    assert len(page.records) == 150 and page.failures == []
    assert {record.institution for record in page.records} == {"Art Institute of Chicago"}


def test_folder_needs_metadata_with_columns(tmp_path: Path) -> None:
    with pytest.raises(ArtsearchError, match="metadata.csv"):
        FolderSource(tmp_path)
    (tmp_path / "metadata.csv").write_text("name\nx\n")
    source = FolderSource(tmp_path)
    with pytest.raises(ArtsearchError, match="file, title"):
        asyncio.run(source.fetch_page(None, Partition("p", {"row": 0}), {"row": 0}))


def test_paths_out_of_the_folder_are_bad_records(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(IMAGES / "878.jpg", elsewhere / "secret.jpg")
    folder = make_folder(
        tmp_path / "collection",
        [
            "866.jpg,Kept,,,",
            "sub/../866.jpg,Dotted,,,",
            f"{elsewhere / 'secret.jpg'},Absolute,,,",
            "escape.jpg,Symlink,,,",
            "sub/874.jpg,Scripted link,,,javascript:alert(1)",
        ],
    )
    (folder / "escape.jpg").symlink_to(elsewhere / "secret.jpg")
    source = FolderSource(folder)
    (partition,) = asyncio.run(source.partitions(None))
    page = source.screened(asyncio.run(source.fetch_page(None, partition, partition.cursor)))
    assert [r.title for r in page.records] == ["Kept"]
    assert [r for _, r in page.failures] == [
        "bad record: file path with '..'; give it inside the folder",
        "bad record: absolute file path; give it relative to the folder",
        "bad record: file outside the folder (a symlink leads out)",
        "bad record: page_url has scheme 'javascript'; only http or https is accepted",
    ]
    assert source.local_root == folder.resolve()
