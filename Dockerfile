# One image for every minicanton node. Each container picks its process and config:
#   python -m minicanton.<kind> --config /etc/minicanton/<name>.json
# (docker-compose.yml and deploy/k8s/ set that command; the configs are mounted, not baked
# in, so one image serves every node and every environment). See deploy/README.md.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the install needs (.dockerignore lets nothing else in: no .env, no .git).
COPY pyproject.toml constraints.txt README.md ./
COPY services ./services
# A virtualenv, so the runtime stage copies exactly the installed project and its pinned deps.
RUN python -m venv /opt/minicanton \
 && /opt/minicanton/bin/pip install -c constraints.txt .

FROM python:3.11-slim
ENV PATH=/opt/minicanton/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/minicanton /opt/minicanton
# A fixed non-root uid/gid (10001), so volumes and the Kubernetes securityContext can name it.
RUN groupadd --system --gid 10001 minicanton \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/minicanton \
            --no-create-home --shell /usr/sbin/nologin minicanton \
 && mkdir -p /var/lib/minicanton /etc/minicanton \
 && chown 10001:10001 /var/lib/minicanton \
 && chmod 0700 /var/lib/minicanton
USER 10001:10001
WORKDIR /var/lib/minicanton
# A participant keeps its key file here: compose and Kubernetes mount a volume on it.
# gRPC: sequencer 5001, topology manager 5020, mediator auditor 5030, Ledger API 6865;
# HTTP: JSON API 7575, every other node's /livez and /readyz 8080.
EXPOSE 5001 5020 5030 6865 7575 8080
CMD ["python", "-m", "minicanton.cli.main", "--help"]
