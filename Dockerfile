# syntax=docker/dockerfile:1
# Build stage: the same `make build` a developer runs, so the image and a
# local build cannot drift apart.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=${VERSION} && mkdir -p /out/data

# Runtime stage: a static binary on a minimal, non-root image. Time-zone
# data is compiled into the binary (time/tzdata).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/dashboard /src/bin/sandbox /usr/local/bin/
COPY --from=build --chown=nonroot:nonroot /out/data /data
ENV ADDR=0.0.0.0:8080 \
    DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/dashboard"]
