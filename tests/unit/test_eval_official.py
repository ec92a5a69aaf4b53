"""Official prompt files: read from a user's copy or downloaded once into the cache, always pinned by sha256;
MR-GSM8K's prompt read out of its script's syntax tree."""

from __future__ import annotations

import hashlib
import io

import pytest

from deepcritic.errors import DeepcriticError
from deepcritic.eval import official as official_module
from deepcritic.eval.official import OfficialFile, fstring_template, official_bytes
from deepcritic.eval.protocols import OFFICIAL_FILES, get_protocol
from tests.helpers.official import TEMPLATES

DATA = b"Review the {problem} and {tagged_response}; answer in \\boxed{{}}.\n"
FILE = OfficialFile("owner/repo", "a" * 40, "dir/template.txt", hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPCRITIC_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "official"


def _serve(monkeypatch, data: bytes) -> list[str]:
    """Stand in for GitHub: urlopen returns ``data``; returns the list of requested URLs."""
    urls: list[str] = []

    def urlopen(url, timeout):
        urls.append(url)
        return io.BytesIO(data)

    monkeypatch.setattr(official_module.urllib.request, "urlopen", urlopen)
    return urls


def test_downloads_once_then_reads_the_cache(cache, monkeypatch):
    urls = _serve(monkeypatch, DATA)
    assert official_bytes(FILE) == DATA and official_bytes(FILE) == DATA
    assert urls == ["https://raw.githubusercontent.com/owner/repo/" + "a" * 40 + "/dir/template.txt"]
    assert (cache / FILE.sha256[:16] / "template.txt").read_bytes() == DATA


def test_a_download_with_other_bytes_is_refused_and_not_cached(cache, monkeypatch):
    _serve(monkeypatch, DATA + b"changed")
    with pytest.raises(DeepcriticError, match=r"is not the official owner/repo@aaaaaaaa:dir/template.txt.*sha256"):
        official_bytes(FILE)
    assert not (cache / FILE.sha256[:16] / "template.txt").exists()


def test_a_tampered_cache_is_refused(cache, monkeypatch):
    (cache / FILE.sha256[:16]).mkdir(parents=True)
    (cache / FILE.sha256[:16] / "template.txt").write_bytes(b"other")
    with pytest.raises(DeepcriticError, match="its sha256 is"):
        official_bytes(FILE)


def test_a_failed_download_says_where_to_put_a_copy(cache, monkeypatch):
    def refuse(url, timeout):
        raise OSError("network unreachable")

    monkeypatch.setattr(official_module.urllib.request, "urlopen", refuse)
    with pytest.raises(DeepcriticError, match=r"cannot download .*protocol.template=<path>.*or copy it to"):
        official_bytes(FILE)


def test_a_users_copy_is_checked_too(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(DATA)
    bad.write_bytes(DATA.replace(b"\n", b"\r\n"))  # the same text with Windows line ends is not the same prompt
    assert official_bytes(FILE, str(good)) == DATA
    with pytest.raises(DeepcriticError, match="bad.txt is not the official"):
        official_bytes(FILE, str(bad))
    with pytest.raises(DeepcriticError, match="cannot read .*missing.txt"):
        official_bytes(FILE, str(tmp_path / "missing.txt"))


def test_get_protocol_without_a_path_uses_the_cache(cache, monkeypatch):
    urls = _serve(monkeypatch, TEMPLATES["processbench"].read_bytes())
    assert (
        get_protocol("processbench").template == get_protocol("processbench", str(TEMPLATES["processbench"])).template
    )
    assert urls == [OFFICIAL_FILES["processbench"].url]


FSTRING = '''
def build(data, sol_steps, demos):
    if not demos:
        data['eval_prompt'] = f"""Q: {data['question']}
S: {sol_steps}
braces {{kept}}"""
    else:
        data['eval_prompt'] = f"other {demos}"
'''


def test_fstring_template_reads_the_first_assignment():
    names = {"data['question']": "problem", "sol_steps": "solution"}
    assert fstring_template(FSTRING, "data['eval_prompt']", names) == "Q: {problem}\nS: {solution}\nbraces {kept}"
    with pytest.raises(DeepcriticError, match="no f-string is assigned to data.'prompt'."):
        fstring_template(FSTRING, "data['prompt']", names)
    with pytest.raises(DeepcriticError, match=r"uses \{sol_steps\}, which has no placeholder"):
        fstring_template(FSTRING, "data['eval_prompt']", {"data['question']": "problem"})
