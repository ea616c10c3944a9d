"""The ``nfvo`` command: serve, worker, db upgrade, and client helpers."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import click

from nfvo import config
from nfvo.cli_images import image


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """nfvo: onboard VNF packages, put their images on VIMs, keep the descriptor catalogue.

    All settings come from NFVO_* environment variables (see docs/configuration.md).
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the database (NFVO_DATABASE_URL) to the newest schema, and the files of packages kept
    under NFVO_HOME/packages by an earlier nfvo into the content store; safe to run again."""
    from nfvo.db.migrate import upgrade
    from nfvo.services.blobs import adopt_package_directories
    from nfvo.services.context import Context

    settings = config.load()
    settings.ensure_dirs()
    upgrade(settings.database_url)
    click.echo(f"database at newest schema: {_safe_url(settings.database_url)}")
    context = Context(settings)
    context.check()
    if moved := adopt_package_directories(context):
        click.echo(f"moved the files of {moved} packages into {context.store.describe()}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=int, help="Request threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Run the REST service. Without NFVO_BROKER_URL it also runs the worker in-process
    (embedded mode) and keeps its SQLite database up to date itself."""
    from nfvo.server import serve as run_server

    run_server(config.load(), host, port, threads=threads)


@main.command()
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.option("--pool", default="prefork", show_default=True, type=click.Choice(["prefork", "solo", "threads"]))
def worker(concurrency: int, pool: str) -> None:
    """Run a Celery worker for NFVO_BROKER_URL (external mode)."""
    from nfvo.services.context import Context
    from nfvo.worker.app import configure

    settings = config.load()
    Context(settings).check()
    if settings.embedded:
        raise click.ClickException("NFVO_BROKER_URL is not set: `nfvo serve` runs the worker itself in embedded mode")
    settings.ensure_dirs()
    app = configure(settings)
    app.worker_main(["worker", f"--concurrency={concurrency}", f"--pool={pool}", "--loglevel=INFO",
                     "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "nfvo@%h"])


@main.group()
def client() -> None:
    """Talk to a running nfvo (NFVO_URL, NFVO_USERNAME, NFVO_PASSWORD, NFVO_PROJECT)."""


@client.command("wait")
@click.option("--seconds", default=60, show_default=True, type=float)
def client_wait(seconds: float) -> None:
    """Wait until the service answers."""
    from nfvo.client import Client, ClientError

    try:
        Client(config.load_client()).wait_until_up(seconds)
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def package() -> None:
    """Build and onboard VNF packages."""


@package.command("build")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Default: DIRECTORY with the format's suffix (.tar, .csar, ...)")
def package_build(directory: Path, output: Path | None) -> None:
    """Pack an unpacked package directory into its format's package file (an Open Baton tar, a CSAR zip...)."""
    from nfvo.formats import registry

    fmt = registry.detect_directory(directory)
    try:
        out = fmt.build(directory, output or directory.with_suffix(Path(fmt.stored_as).suffix))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(str(out))


@package.command("upload")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--skip-duplicate", is_flag=True, help="A package that is already onboarded is not an error.")
@click.option("--strict", is_flag=True, help="Every validation warning refuses the package.")
def package_upload(path: Path, skip_duplicate: bool, strict: bool) -> None:
    """Onboard a package and print its summary, then its validation warnings. PATH is a package
    file or an unpacked package directory, which its format packs first; a package of a format
    with its own SOL005 view (an ETSI SOL004 CSAR) goes through /vnfpkgm/v1, any other (an Open
    Baton tar) through /api/v1."""
    from nfvo.client import Client, ClientError
    from nfvo.validate import packed

    client = Client(config.load_client())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                fmt, package = packed(path, Path(tmp))
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
            if fmt.own_package_info:
                info = client.onboard_csar(package, strict=strict)
                click.echo(f"onboarded {info['vnfProductName']} {info['vnfSoftwareVersion']} (provider "
                           f"{info['vnfProvider']}): VNF package {info['id']}, vnfdId {info['vnfdId']}")
                _echo_warnings(info.get("warnings", []), path.name)
                return
            vnfd = client.upload_package(package, strict=strict)
    except ClientError as exc:
        if skip_duplicate and exc.problem.get("type", "").endswith("/duplicate-package"):
            if exc.package_id:  # the CSAR package made for this attempt, in ERROR
                client.delete(f"/vnfpkgm/v1/vnf_packages/{exc.package_id}")
            click.echo(f"{path}: already onboarded")
            return
        raise click.ClickException(f"{path}: {exc}") from None
    images = sorted({i for vdu in vnfd.get("vdu", []) for i in vdu.get("vm_image", [])})
    click.echo(f"onboarded {vnfd['name']} (vendor {vnfd.get('vendor')}): VNFD {vnfd['id']}, "
               f"package {vnfd['vnfPackageLocation']}, images {', '.join(images)}")
    _echo_warnings(vnfd.get("warnings", []), path.name)


def _echo_warnings(warnings: list[dict], default_file: str) -> None:
    """The validation warnings of an onboarded package, one per line, as ``package validate`` prints them."""
    from nfvo.domain.findings import count
    from nfvo.errors import Issue

    issues = [Issue(**w) for w in warnings]
    if issues:
        click.echo(f"{count(issues)}:")
        for issue in issues:
            click.echo(f"  {_issue_line(issue, default_file)}")


@package.command("day0")
@click.argument("package_ref", metavar="PACKAGE_OR_ID")
@click.option("--set", "values", multiple=True, metavar="NAME=VALUE", help="A custom property's value (repeatable).")
@click.option("--profile", help="The profile to deploy (default: the package's default profile).")
@click.option("--nic", "nics", multiple=True, metavar="IP/NETMASK[,GATEWAY]",
              help="The address of the next vNIC, from vNIC 0 on (repeatable).")
@click.option("--json-value", "json_values", multiple=True, metavar="NAME=JSON",
              help="A property's value written as JSON (a ConVirt option's number, list...; repeatable).")
@click.option("--vm-name", help="The VM's name (a ConVirt template's $VM_NAME).")
@click.option("--iso", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the files as a config drive (ISO 9660) here instead of printing them.")
def package_day0(package_ref: str, values: tuple[str, ...], profile: str | None, nics: tuple[str, ...],
                 json_values: tuple[str, ...], vm_name: str | None, iso: Path | None) -> None:
    """Render a package's day-0 files for one deployment. PACKAGE_OR_ID is a package file or
    directory (rendered offline), or the id of a package onboarded on the service (NFVO_URL).
    Prints the answer as JSON: the profile and each file with its mount point and content."""
    import json

    from nfvo.domain.nfvis.iso import write_iso

    payload = _day0_payload(values, profile, nics)
    for item in json_values:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{item!r} is not NAME=JSON", param_hint="--json-value")
        try:
            payload["properties"][name] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{item!r}: {exc}", param_hint="--json-value") from None
    if vm_name is not None:
        payload["vmName"] = vm_name
    path = Path(package_ref)
    if not path.exists():
        _day0_remote(_package_id(package_ref), payload, iso)
        return
    rendered = _day0_offline(path, payload)
    if iso is None:
        click.echo(json.dumps({"profile": rendered.profile, "files": rendered.files}, indent=2))
        return
    with open(iso, "wb") as out:
        write_iso(rendered.files, out, nocloud=rendered.nocloud)
    click.echo(str(iso))


def _package_id(ref: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(ref))
    except ValueError:
        raise click.BadParameter(f"{ref!r} is neither a package file or directory nor a package id",
                                 param_hint="PACKAGE_OR_ID") from None


def _day0_remote(package_id: str, payload: dict, iso: Path | None) -> None:
    import json

    from nfvo.client import Client, ClientError
    from nfvo.errors import Issue

    try:
        answer = Client(config.load_client()).day0(package_id, payload, iso=iso is not None)
    except ClientError as exc:
        if not exc.problem.get("errors"):
            raise click.ClickException(str(exc)) from None
        click.echo(exc.problem.get("detail"))
        for error in exc.problem["errors"]:
            click.echo(f"  {_issue_line(Issue(**error), 'request body')}")
        sys.exit(1)
    if iso is None:
        click.echo(json.dumps(answer, indent=2))
        return
    iso.write_bytes(answer)
    click.echo(str(iso))


def _day0_payload(values: tuple[str, ...], profile: str | None, nics: tuple[str, ...]) -> dict:
    properties = {}
    for item in values:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--set")
        properties[name] = value
    payload: dict = {"properties": properties}
    if profile:
        payload["profile"] = profile
    if nics:
        payload["nics"] = []
        for item in nics:
            address, _, gateway = item.partition(",")
            ip, slash, netmask = address.partition("/")
            if not slash:
                raise click.BadParameter(f"{item!r} is not IP/NETMASK[,GATEWAY]", param_hint="--nic")
            payload["nics"].append({"ip": ip, "netmask": netmask, **({"gateway": gateway} if gateway else {})})
    return payload


def _day0_offline(path: Path, payload: dict):
    from nfvo.domain.archive import ArchiveLimits
    from nfvo.errors import NfvoError
    from nfvo.validate import packed

    with tempfile.TemporaryDirectory(prefix="nfvo-day0-") as tmp:
        try:
            fmt, file = packed(path, Path(tmp))
            (Path(tmp) / "format").mkdir()
            with fmt.open(file, limits=ArchiveLimits(), display_name=path.name, work=Path(tmp) / "format",
                          strict=False) as package:
                rendered = fmt.day0(package, payload)
        except NfvoError as exc:
            click.echo(exc.detail)
            for issue in exc.errors:
                click.echo(f"  {_issue_line(issue, path.name)}")
            sys.exit(1)
    if rendered is None:
        raise click.ClickException(f"{path}: a {fmt.title} has no day-0 files")
    return rendered


@package.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--max-members", default=config.Settings.max_archive_members, show_default=True, type=int,
              help="Most entries an archive may hold.")
@click.option("--max-size", default=config.Settings.max_package_size, show_default=True, type=int,
              help="Most bytes an archive's members may hold together (uncompressed).")
@click.option("--max-descriptor-size", default=config.Settings.max_descriptor_size, show_default=True, type=int,
              help="Most bytes of one descriptor or metadata file (as NFVO_MAX_DESCRIPTOR_SIZE).")
@click.option("--max-script-size", default=config.Settings.max_script_size, show_default=True, type=int,
              help="Most bytes of one script (as NFVO_MAX_SCRIPT_SIZE).")
@click.option("--max-image-size", default=config.Settings.max_image_size, show_default=True, type=int,
              help="Most bytes of one image file (as NFVO_MAX_IMAGE_SIZE).")
@click.option("--max-artifact-size", default=config.Settings.max_artifact_size, show_default=True, type=int,
              help="Most bytes of any other file (as NFVO_MAX_ARTIFACT_SIZE).")
@click.option("--max-ratio", type=int, hidden=True)  # gone: accepted, ignored with a warning
@click.option("--strict", is_flag=True, help="Every warning is an error (as NFVO_VALIDATION=strict on the service).")
def package_validate(path: Path, max_members: int, max_size: int, max_descriptor_size: int, max_script_size: int,
                     max_image_size: int, max_artifact_size: int, max_ratio: int | None, strict: bool) -> None:
    """Check a package offline: a file or an unpacked directory of any installed format (Open
    Baton, ETSI SOL004 CSAR, Cisco NFVIS, SONATA / 5GTANGO...; told apart by content). Exit 0 and print a summary, then any warnings, when
    it may be onboarded; exit 1 and print every finding when it may not. Each finding reads
    FILE:LINE: POINTER: MESSAGE, a warning's message starting with 'warning: '."""
    from nfvo.domain.archive import ArchiveLimits
    from nfvo.domain.findings import count
    from nfvo.errors import NfvoError
    from nfvo.validate import validate_path

    if max_ratio is not None:
        click.echo("warning: --max-ratio is ignored: compression ratios are no longer judged; members are "
                   "bounded by --max-*-size while they are read", err=True)
    limits = ArchiveLimits(max_members=max_members, max_total_size=max_size, max_text_size=max_descriptor_size,
                           max_script_size=max_script_size, max_image_size=max_image_size,
                           max_artifact_size=max_artifact_size)
    try:
        validated = validate_path(path, limits, strict=strict)
    except NfvoError as exc:
        click.echo(exc.detail)
        for issue in exc.errors:
            click.echo(f"  {_issue_line(issue, path.name)}")
        sys.exit(1)
    click.echo("\n".join(validated.summary))
    if validated.warnings:
        click.echo(f"{count(validated.warnings)}:")
        for issue in validated.warnings:
            click.echo(f"  {_issue_line(issue, path.name)}")


def _issue_line(issue, default_file: str) -> str:
    where = ":".join(str(p) for p in (issue.file or default_file, issue.line) if p is not None)
    message = f"warning: {issue.message}" if issue.is_warning else issue.message
    return ": ".join(p for p in (where, issue.pointer, message) if p)


@package.command("list")
def package_list() -> None:
    """List the onboarded packages of the project."""
    from nfvo.client import Client, ClientError

    try:
        for p in Client(config.load_client()).get("/api/v1/vnf-packages"):
            click.echo(f"{p['id']}  {p['name']}  {p['vendor']}  {p['version']}")
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


main.add_command(image)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
