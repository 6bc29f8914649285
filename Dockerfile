# The worker and command-line image: `support-provision worker` by default.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY casemodel ./casemodel
COPY definitions ./definitions
COPY workflows ./workflows
COPY activities ./activities
COPY starter ./starter
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /app support-provision
USER support-provision

ENTRYPOINT ["support-provision"]
CMD ["worker"]
