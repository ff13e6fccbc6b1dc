# syntax=docker/dockerfile:1
# One image for every process of the marketplace. The default command is the web
# server (Daphne: HTTP + websockets); compose.yaml runs the same image as the
# one-shot `migrate`, the outbox `relay` and the Kafka `consumers`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first so code changes do not invalidate this layer.
# requirements.txt pins everything; psycopg-binary bundles libpq, so no build tools are needed.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .

ENV DJANGO_DEBUG=0 \
    HEALTH_DIR=/tmp/marketplace-health

# Settings refuse to load without a secret key when DEBUG is off. collectstatic needs
# no real one (it touches neither the database nor any service), so a throwaway value
# is given to this command only; it is not kept in the image's environment.
# The code and collected static files stay owned by root (read-only for the app user);
# only the media folder is writable.
RUN DJANGO_SECRET_KEY=build-only-collectstatic-not-a-secret python manage.py collectstatic --no-input \
 && mkdir -p var/media \
 && chown app:app var/media

USER app

EXPOSE 8000

# No HEALTHCHECK here: each process of this one image is probed differently. compose.yaml gives each
# service its own: web GETs /readyz; relay, clock, payments executor and consumers run
# `python -m marketplace.ops.probe NAME`, which reads the heartbeat file their loop writes in $HEALTH_DIR
# (under /tmp: writable by the app user, and an emptyDir under a read-only root filesystem in Kubernetes).
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "--access-log", "/dev/null", "marketplace.asgi:application"]
