# The worker and command-line image: `support-provision worker` by default.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Exactly what uv.lock records, as `make` installs it: two images built on two days run
# the same code.
COPY pyproject.toml uv.lock README.md ./
COPY casemodel ./casemodel
COPY definitions ./definitions
COPY workflows ./workflows
COPY activities ./activities
COPY starter ./starter
COPY protection ./protection
RUN pip install --no-cache-dir uv==0.13.9 \
    && uv sync --locked --no-editable --compile-bytecode \
    && useradd --system --home-dir /app support-provision
USER support-provision

ENTRYPOINT ["support-provision"]
CMD ["worker"]
