"""The type cache: resolution with a TTL and a size bound, the compiled-schema LRU bound,
refresh, and the digest check on what the participant sends."""

from __future__ import annotations

import pytest

from minicanton.core.lf.identifier import Identifier
from minicanton.core.lf.package import AmbiguousTemplate, TemplateNotFound, package_id_of
from minicanton.json_api.type_cache import PackageUnusable, TypeCache


def source(module: str, version: int = 1, templates: tuple[str, ...] = ("Thing",)) -> bytes:
    classes = "\n".join(
        f"class {name}(Template):\n    owner: Party\n    size: Int64\n"
        f"    signatories = ('owner',)\n" for name in templates)
    return (f"# version {version}\nfrom minicanton.dsl import Int64, Party, Template\n"
            f"MODULE = {module!r}\n\n{classes}").encode()


class Packages:
    """The participant's package service as a dict, counting the calls made to it."""

    def __init__(self, *sources: bytes) -> None:
        self.sources = {package_id_of(s): s for s in sources}
        self.list_calls = 0
        self.fetches = 0

    def upload(self, raw: bytes) -> str:
        self.sources[package_id_of(raw)] = raw
        return package_id_of(raw)

    async def package_ids(self) -> list[str]:
        self.list_calls += 1
        return list(self.sources)

    async def package_source(self, package_id: str) -> bytes | None:
        self.fetches += 1
        return self.sources.get(package_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_names_resolve_to_the_one_package_that_defines_them() -> None:
    packages = Packages(source("shop"), source("bank", templates=("Account", "Teller")))
    cache = TypeCache()
    shop = package_id_of(source("shop"))
    assert await cache.resolve("shop:Thing", packages) == Identifier(shop, "shop", "Thing")
    assert await cache.resolve(f"{shop}:shop:Thing", packages) == Identifier(shop, "shop",
                                                                              "Thing")
    types = await cache.template(Identifier(shop, "shop", "Thing"), packages)
    assert [name for name, _ in types.info.fields] == ["owner", "size"]
    with pytest.raises(TemplateNotFound):
        await cache.resolve("shop:Nothing", packages)
    with pytest.raises(TemplateNotFound):
        await cache.resolve(f"{'0' * 64}:shop:Thing", packages)
    assert len(await cache.all_templates(packages)) == 3


async def test_a_resolution_is_cached_for_its_ttl_then_sees_new_packages() -> None:
    clock = Clock()
    packages = Packages(source("shop", 1))
    cache = TypeCache(resolution_ttl_s=300, clock=clock)
    first = await cache.resolve("shop:Thing", packages)
    lists = packages.list_calls
    packages.upload(source("shop", 2))  # a second version: the name becomes ambiguous
    clock.now += 299
    assert await cache.resolve("shop:Thing", packages) == first
    assert packages.list_calls == lists  # served from the cache
    clock.now += 2
    with pytest.raises(AmbiguousTemplate):
        await cache.resolve("shop:Thing", packages)


async def test_refresh_makes_an_upload_visible_at_once() -> None:
    packages = Packages(source("shop", 1))
    cache = TypeCache(clock=Clock())
    await cache.resolve("shop:Thing", packages)
    packages.upload(source("shop", 2))
    cache.refresh()
    with pytest.raises(AmbiguousTemplate):
        await cache.resolve("shop:Thing", packages)


async def test_a_new_template_name_is_usable_right_after_its_upload() -> None:
    packages = Packages(source("shop"))
    cache = TypeCache(clock=Clock())
    await cache.resolve("shop:Thing", packages)
    new_id = packages.upload(source("market"))
    assert await cache.resolve("market:Thing", packages) == Identifier(new_id, "market",
                                                                        "Thing")


async def test_compiled_schemas_stay_within_the_byte_bound_least_recently_used_out() -> None:
    sources = [source(f"m{i}") for i in range(5)]
    packages = Packages(*sources)
    probe = TypeCache()
    one = await probe.package(package_id_of(sources[0]), packages)
    assert one is not None
    cache = TypeCache(schema_capacity_bytes=int(one.schema_bytes * 2.5))
    ids = [package_id_of(s) for s in sources]
    for package_id in ids[:3]:
        await cache.package(package_id, packages)
    assert cache.schema_bytes <= int(one.schema_bytes * 2.5)
    assert cache.cached_packages() == ids[1:3]
    await cache.package(ids[1], packages)  # touch: ids[2] is now the eldest
    await cache.package(ids[3], packages)
    assert cache.cached_packages() == [ids[1], ids[3]]
    loads = cache.loads
    await cache.package(ids[1], packages)
    assert cache.loads == loads  # a hit
    await cache.package(ids[0], packages)
    assert cache.loads == loads + 1  # evicted earlier: fetched and compiled again


async def test_the_resolution_map_is_bounded() -> None:
    modules = [f"m{i}" for i in range(6)]
    packages = Packages(*(source(m) for m in modules))
    cache = TypeCache(max_resolutions=3, clock=Clock())
    for module in modules:
        await cache.resolve(f"{module}:Thing", packages)
    assert len(cache._resolutions) == 3
    lists = packages.list_calls
    await cache.resolve("m5:Thing", packages)  # recent: cached
    assert packages.list_calls == lists
    await cache.resolve("m0:Thing", packages)  # evicted: resolved again
    assert packages.list_calls == lists + 1


async def test_a_package_that_does_not_match_its_id_is_refused() -> None:
    packages = Packages(source("shop"))
    honest_id = package_id_of(source("shop"))
    packages.sources[honest_id] = source("shop", 99)  # the participant sends other bytes
    cache = TypeCache()
    with pytest.raises(PackageUnusable):
        await cache.package(honest_id, packages)
    with pytest.raises(TemplateNotFound):  # listed, unusable: it defines nothing
        await cache.resolve("shop:Thing", packages)
