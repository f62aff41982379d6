"""Glance v2 under /image: version discovery and read access to images."""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.routing import Rule

from cloudsim.app import Ctx, Endpoint, Reply
from cloudsim.state import SimError, SimState, iso

_VERSIONS = ("2.17", "2.16", "2.15", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")


def versions(ctx: Ctx) -> Reply:
    """The image root lists its versions with 300 Multiple Choices, as Glance does."""
    values = [
        {
            "id": "v" + number,
            "status": "CURRENT" if index == 0 else "SUPPORTED",
            "links": [{"rel": "self", "href": ctx.base + "/image/v2/"}],
        }
        for index, number in enumerate(_VERSIONS)
    ]
    return Reply(300, {"versions": values})


def image_view(image: dict) -> dict:
    """An image with the fields Glance shows; extra properties sit at the top level."""
    view = {
        key: image[key]
        for key in (
            "id",
            "name",
            "status",
            "visibility",
            "protected",
            "os_hidden",
            "disk_format",
            "container_format",
            "min_disk",
            "min_ram",
            "size",
            "virtual_size",
            "checksum",
            "os_hash_algo",
            "os_hash_value",
            "owner",
        )
    }
    view.update(image["properties"])
    view.update(
        tags=list(image["tags"]),
        created_at=iso(image["created_at"]),
        updated_at=iso(image["updated_at"]),
        self="/v2/images/" + image["id"],
        file="/v2/images/%s/file" % image["id"],
        schema="/v2/schemas/image",
    )
    return view


def _visible(ctx: Ctx, image: dict) -> bool:
    return ctx.is_admin or image["visibility"] != "private" or image["owner"] == ctx.project_id


def images_list(ctx: Ctx) -> Reply:
    """GET /v2/images with the usual filters and marker/limit paging."""
    args = ctx.request.args
    images = sorted(ctx.state.images.values(), key=lambda i: (i["created_at"], i["id"]))
    images.reverse()
    images = [i for i in images if _visible(ctx, i)]
    for field in ("name", "status", "visibility", "owner", "disk_format", "container_format"):
        if args.get(field):
            images = [i for i in images if str(i[field]) == args[field]]
    for tag in args.getlist("tag"):
        images = [i for i in images if tag in i["tags"]]
    marker = args.get("marker")
    if marker:
        ids = [i["id"] for i in images]
        if marker not in ids:
            raise SimError(400, "marker %s not found" % marker)
        images = images[ids.index(marker) + 1 :]
    try:
        limit = min(int(args.get("limit", 25)), 1000)
    except ValueError as exc:
        raise SimError(400, "limit param must be an integer") from exc
    if limit < 0:
        raise SimError(400, "limit param must be positive")
    page = images[:limit]
    body = {
        "images": [image_view(i) for i in page],
        "schema": "/v2/schemas/images",
        "first": "/v2/images",
    }
    if len(images) > limit and page:
        # As Glance does, the next page keeps this one's filters.
        params = args.copy()
        params["marker"] = page[-1]["id"]
        params["limit"] = str(limit)
        body["next"] = "/v2/images?" + urlencode(list(params.items(multi=True)))
    return Reply(200, body)


def image_show(ctx: Ctx, image_id: str) -> Reply:
    image = ctx.state.images.get(image_id)
    if image is None or not _visible(ctx, image):
        raise SimError(404, "No image found with ID %s" % image_id)
    return Reply(200, image_view(image))


def routes(state: SimState) -> list[Rule]:
    """The URL rules of the image service."""

    def ep(handler, public=False) -> Endpoint:
        return Endpoint("image", handler, public)

    return [
        Rule("/image", endpoint=ep(versions, True), methods=["GET"]),
        Rule("/image/versions", endpoint=ep(versions, True), methods=["GET"]),
        Rule("/image/v2/images", endpoint=ep(images_list), methods=["GET"]),
        Rule("/image/v2/images/<image_id>", endpoint=ep(image_show), methods=["GET"]),
    ]
