# jira-attachment-inspector: runs next to Jira, as a non-root user, with no internet needed.
# BASE is the official Python image by default; any Debian-like image with python3 and venv works.
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
RUN python3 -m venv /opt/inspector
COPY pyproject.toml README.md /src/
COPY inspector /src/inspector
COPY jiraworld /src/jiraworld
COPY sql /src/sql
# duckdb-extension-sqlite-scanner ships the extension file: it is baked into the venv here and
# loaded from disk at run time (containers next to Jira cannot download it).
# The s3 extra (boto3): attachments in S3 need no other image; sftp (asyncssh): restores from a
# backup host over SFTP; cloud (urllib3): Jira Cloud sites; mysql (PyMySQL): Jira on MySQL/MariaDB.
RUN /opt/inspector/bin/pip install --no-cache-dir "/src[s3,sftp,cloud,mysql]" \
 && /opt/inspector/bin/python -c "import duckdb; from inspector.report.duckconn import extension_path; \
duckdb.connect().execute(f\"LOAD '{extension_path()}'\")"

FROM ${BASE}
COPY --from=build /opt/inspector /opt/inspector
RUN useradd --system --uid 10001 --gid 0 --home-dir /state --no-create-home inspector \
 && mkdir -p /state /report \
 && chown 10001:0 /state /report && chmod 0775 /state /report
ENV PATH=/opt/inspector/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    INSPECTOR_STATE_DB=/state/inspector-state.sqlite \
    INSPECTOR_REPORT_DIR=/report \
    INSPECTOR_ATTACHMENTS_ROOT=/attachments
USER 10001
WORKDIR /state
VOLUME ["/state"]
ENTRYPOINT ["python", "-m", "inspector"]
