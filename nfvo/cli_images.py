"""``nfvo image``: the gold-image catalogue of a running nfvo (add, list, show, distribute, export)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nfvo import config

#: the options of ``nfvo image add`` that become fields of the image
_FIELDS = {"version": "version", "disk_format": "diskFormat", "container_format": "containerFormat",
           "os": "osDistro", "os_version": "osVersion", "architecture": "architecture", "description": "description",
           "min_ram": "minRam", "min_disk": "minDisk", "min_cpu": "minCpu"}


def _client():
    from nfvo.client import Client

    return Client(config.load_client())


def _run(call):
    from nfvo.client import ClientError

    try:
        return call()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


def _line(image: dict) -> str:
    where = ", ".join(p["name"] for p in image.get("placements", [])) or "on no VIM"
    return (f"{image['id']}  {image['name']} {image['version']}  {image['diskFormat']}  {image['size']} bytes  "
            f"sha256 {image['sha256'][:12]}  {'public  ' if image.get('public') else ''}{where}")


@click.group()
def image() -> None:
    """The gold-image catalogue of a running nfvo (NFVO_URL, NFVO_USERNAME, NFVO_PASSWORD, NFVO_PROJECT)."""


@image.command("add")
@click.argument("source")
@click.option("--name", help="The image's name (an OVA's comes from its OVF).")
@click.option("--version", help="Default 1.0 (an OVA's product version, if it has one).")
@click.option("--disk-format", help="qcow2, raw, vmdk, iso...")
@click.option("--container-format", help="bare (default), ova, docker...")
@click.option("--os", help="The OS distribution (osDistro), e.g. ubuntu.")
@click.option("--os-version")
@click.option("--architecture", help="e.g. x86_64, aarch64, ppc64le.")
@click.option("--description")
@click.option("--min-ram", type=int, help="MB")
@click.option("--min-disk", type=int, help="GB")
@click.option("--min-cpu", type=int)
@click.option("--tag", "tags", multiple=True, help="Repeatable.")
def image_add(source: str, name: str | None, tags: tuple[str, ...], **options) -> None:
    """Add SOURCE to the catalogue: an image file, an OVA (a tar with an .ovf and its disks), or an
    http(s) URL the service downloads. Prints the new image's line."""
    fields = {_FIELDS[k]: v for k, v in options.items() if v is not None}
    if name:
        fields["name"] = name
    if tags:
        fields["tags"] = ",".join(tags)
    client = _client()
    if source.startswith(("http://", "https://")):
        body = {**fields, "link": source, **({"tags": list(tags)} if tags else {})}
        added = _run(lambda: client.post_json("/api/v1/images", body))
    else:
        path = Path(source)
        if not path.is_file():
            raise click.ClickException(f"{source}: no such file")
        added = _run(lambda: client.add_image(path, fields))
    click.echo(f"added {_line(added)}")


@image.command("list")
@click.option("--name")
@click.option("--os")
@click.option("--architecture")
@click.option("--tag")
@click.option("--json", "as_json", is_flag=True, help="The answer as JSON.")
def image_list(as_json: bool, **query) -> None:
    """The project's images and the public ones, one line each."""
    params = "&".join(f"{k}={v}" for k, v in query.items() if v)
    images = _run(lambda: _client().get(f"/api/v1/images{'?' + params if params else ''}"))
    if as_json:
        click.echo(json.dumps(images, indent=2))
        return
    for found in images:
        click.echo(_line(found))


@image.command("show")
@click.argument("image_id")
@click.option("--json", "as_json", is_flag=True, help="The answer as JSON.")
def image_show(image_id: str, as_json: bool) -> None:
    """One image: its record, where it is, its versions and the packages that use it."""
    shown = _run(lambda: _client().get(f"/api/v1/images/{image_id}"))
    if as_json:
        click.echo(json.dumps(shown, indent=2))
        return
    click.echo(_line(shown))
    for key in ("description", "osDistro", "osVersion", "architecture", "minCpu", "minRam", "minDisk", "source"):
        if shown.get(key) not in (None, "", 0):
            click.echo(f"  {key}: {shown[key]}")
    if shown.get("tags"):
        click.echo(f"  tags: {', '.join(shown['tags'])}")
    for placement in shown["placements"]:
        click.echo(f"  on VIM {placement['vimId']}: {placement['name']} ({placement['imageId']}), "
                   f"{placement['decision']}")
    click.echo(f"  versions: {', '.join(v['version'] for v in shown['versions'])} (newest first)")
    for user in shown["usedBy"]:
        click.echo(f"  used by package {user['name']} {user['version']} ({user['id']})")


@image.command("distribute")
@click.argument("image_id")
@click.option("--vim", "vims", multiple=True, help="A VIM instance (name or id); repeatable. Default: every VIM.")
def image_distribute(image_id: str, vims: tuple[str, ...]) -> None:
    """Put the image on VIMs (deduplicated by content, verified) and wait for the job; exit 1 when it fails."""
    client = _client()
    job = _run(lambda: client.post_json(f"/api/v1/images/{image_id}/distribute", {"vimInstances": list(vims)}))
    done = _run(lambda: client.wait_job(job["id"]))
    if done["state"] != "succeeded":
        from nfvo.client import problem_text

        raise click.ClickException(problem_text(done.get("problem") or {}))
    shown = _run(lambda: client.get(f"/api/v1/images/{image_id}"))
    for placement in shown["placements"]:
        click.echo(f"on VIM {placement['vimId']}: {placement['name']} ({placement['imageId']}), "
                   f"{placement['decision']}")


@image.command("export")
@click.argument("image_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--format", "form", type=click.Choice(["ova", "raw"]), default="ova", show_default=True,
              help="ova: an OVA with the image as its disk; raw: the image's bytes as they are.")
def image_export(image_id: str, output: Path, form: str) -> None:
    """Download the image as an OVA, or as it is, into OUTPUT."""
    client = _client()
    if form == "ova":
        size = _run(lambda: client.download(f"/api/v1/images/{image_id}/export", output, {"format": "ova"}))
    else:
        size = _run(lambda: client.download(f"/api/v1/images/{image_id}/content", output))
    click.echo(f"{output}: {size} bytes")
