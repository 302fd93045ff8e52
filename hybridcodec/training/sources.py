"""The Debian packages the speech corpus is built from, and who speaks in each clip.

Every source is one Debian package plus a rule that lists its speech clips and tells,
from each clip's path, its language and its speaker. Where the package does not say
who speaks, the *speaker group* is chosen so that one voice cannot end up on both
sides of the split (see :mod:`hybridcodec.training.corpus`):

==========================  ======================================  =========================
source (package)            clips                                   speaker group
==========================  ======================================  =========================
fillets (fillets-ng-data-nl) Dutch voice acting of Fish Fillets NG   the character: ``m``
                                                                    (small fish), ``v`` (big
                                                                    fish), or ``other``
tuxpaint                    stamp descriptions ``*_desc*.ogg``,      the language (``lang:fr``)
(tuxpaint-stamps-default)   13 languages
klettres (klettres-data)    spoken letters and syllables             the language
ktuberling (ktuberling-data) spoken object names                     the language
gcin (gcin-voice)           Mandarin syllables, two recorded voices  the voice (``3``, ``5``)
hedgewars (hedgewars-data)  ``Data/Sounds/voices``, less Robot and   the voice pack, its
                            Singer                                  localised versions with it
megaglest (megaglest-data)  units' acknowledgement and selection     the unit
                            lines
warzone2100                 the speech inside ``base.wz``            one group
(warzone2100-data)
==========================  ======================================  =========================

The three educational packages (tuxpaint, klettres, ktuberling) do not name their
volunteers, and one volunteer may have recorded for more than one of them, so their
clips are grouped by language *across* the three packages: all French clips of all three
are one group.
"""
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Tuple

AUDIO_SUFFIXES = (".ogg", ".wav", ".opus", ".flac")
HEDGEWARS_LEFT_OUT = ("Robot", "Singer")
"""Hedgewars voice packs that are not natural speech (vocoded, sung)."""
MEGAGLEST_LINE = re.compile(r"^(?P<unit>[a-z_]+?)_(ack|select)\d*\.wav$")
MEGAGLEST_ANIMALS = ("bull", "chicken", "cow", "dragon", "eagle", "evil_dragon", "pig")
WARZONE_LEFT_OUT = ("audio/sfx/", "audio/radclick/")
"""Sound effects and radio clicks inside ``base.wz``: everything else there is speech."""
TUXPAINT_DESCRIPTION = re.compile(r"_desc_?(?P<lang>[A-Za-z@_]*)\.ogg$")


@dataclass(frozen=True)
class Clip:
    """One speech clip of a source package.

    Attributes
    ----------
    name : str
        Unique name within the source, from its path.
    location : tuple of str
        ``(path,)`` for a file, or ``(archive, member)`` for a file inside a zip archive.
    language : str
        Language code as the package names it (``fr``, ``en_GB``, ``zh_TW``).
    speaker : str
        Speaker group (see the module docstring): the unit of the split, so clips of
        one group are always on the same side.
    """
    name: str
    location: Tuple[str, ...]
    language: str
    speaker: str


@dataclass(frozen=True)
class Source:
    """A Debian package of speech clips."""
    name: str
    package: str
    find: Callable[[Path], Iterator[Clip]]


def base_language(code):
    """The language of a locale code: ``en_GB`` -> ``en``, ``sr@latin`` -> ``sr``."""
    return re.split(r"[_@.-]", code)[0].lower()


def _files(root, pattern):
    """Audio files below ``root`` matching a glob pattern, sorted."""
    return sorted(p for p in Path(root).glob(pattern) if p.suffix in AUDIO_SUFFIXES)


def _name(path, root):
    """A clip name from a path below ``root``: its parts joined by ``__``, no suffix."""
    return "__".join(Path(path).relative_to(root).with_suffix("").parts)


def _by_language(name, path, language):
    """A clip of an educational package, grouped by its language across packages."""
    return Clip(name, (str(path),), language, f"lang:{base_language(language)}")


def find_fillets(root):
    """Fish Fillets NG: ``<level>/nl/<level>-<character>-<line>.ogg``."""
    sound = Path(root) / "usr/share/games/fillets-ng/sound"
    for path in _files(sound, "**/nl/*.ogg"):
        parts = path.stem.split("-")
        character = parts[1] if len(parts) > 2 and parts[1] in ("m", "v") else "other"
        yield Clip(_name(path, sound).replace("__nl__", "__"), (str(path),), "nl",
                   f"fillets:{character}")


def find_tuxpaint(root):
    """Tux Paint stamps: the spoken descriptions ``<stamp>_desc_<lang>.ogg`` (no code: en)."""
    stamps = Path(root) / "usr/share/tuxpaint/stamps"
    for path in _files(stamps, "**/*_desc*.ogg"):
        match = TUXPAINT_DESCRIPTION.search(path.name)
        if match:
            yield _by_language(_name(path, stamps), path, match["lang"] or "en")


def find_klettres(root):
    """KLettres: ``klettres/<lang>/{alpha,syllab}/<sound>.ogg``."""
    base = Path(root) / "usr/share/klettres"
    for path in _files(base, "*/*/*.ogg"):
        yield _by_language(_name(path, base), path, path.parts[-3])


def find_ktuberling(root):
    """KTuberling: ``ktuberling/sounds/<lang>/<object>.{ogg,wav,opus}``."""
    base = Path(root) / "usr/share/ktuberling/sounds"
    for path in _files(base, "*/*"):
        yield _by_language(_name(path, base), path, path.parts[-2])


def find_gcin(root):
    """gcin-voice: ``ogg/<syllable>/<voice>.ogg``, voices 3 and 5 (see its copyright)."""
    base = Path(root) / "usr/share/gcin-voice/ogg"
    for path in _files(base, "*/*.ogg"):
        yield Clip(f"{path.stem}__{path.parent.name}", (str(path),), "zh_TW",
                   f"gcin:{path.stem}")


def find_hedgewars(root):
    """Hedgewars: ``Data/Sounds/voices/<pack>/<line>.ogg``; ``Default_es`` is Spanish."""
    base = Path(root) / "usr/share/games/hedgewars/Data/Sounds/voices"
    for path in _files(base, "*/*.ogg"):
        pack = path.parent.name
        voice, _, language = pack.partition("_")
        if voice not in HEDGEWARS_LEFT_OUT:
            yield Clip(_name(path, base), (str(path),), language or "en", f"hedgewars:{voice}")


def find_megaglest(root):
    """MegaGlest: the units' ``<unit>_ack<n>.wav`` and ``<unit>_select<n>.wav`` lines."""
    base = Path(root) / "usr/share/games/megaglest/techs"
    for path in _files(base, "**/*.wav"):
        match = MEGAGLEST_LINE.match(path.name)
        if match and match["unit"] not in MEGAGLEST_ANIMALS:
            yield Clip(_name(path, base), (str(path),), "en", f"megaglest:{match['unit']}")


def find_warzone(root):
    """Warzone 2100: the ``audio/`` speech inside the ``base.wz`` zip archive."""
    archive = Path(root) / "usr/share/games/warzone2100/base.wz"
    with zipfile.ZipFile(archive) as wz:
        members = sorted(wz.namelist())
    for member in members:
        if member.startswith("audio/") and member.endswith(".ogg") \
                and not member.startswith(WARZONE_LEFT_OUT):
            name = member[len("audio/"):-len(".ogg")].replace("/", "__")
            yield Clip(name, (str(archive), member), "en", "warzone2100")


SOURCES = {
    source.name: source for source in (
        Source("fillets", "fillets-ng-data-nl", find_fillets),
        Source("tuxpaint", "tuxpaint-stamps-default", find_tuxpaint),
        Source("klettres", "klettres-data", find_klettres),
        Source("ktuberling", "ktuberling-data", find_ktuberling),
        Source("gcin", "gcin-voice", find_gcin),
        Source("hedgewars", "hedgewars-data", find_hedgewars),
        Source("megaglest", "megaglest-data", find_megaglest),
        Source("warzone2100", "warzone2100-data", find_warzone),
    )
}
"""Every source by name, in the order they are fetched."""
