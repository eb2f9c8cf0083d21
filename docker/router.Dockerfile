# syntax=docker/dockerfile:1
# QueryRouter (client region): HTTP+gRPC API on 8443, TLS
# Build context: the repository root (filtered by /.dockerignore), e.g.
#   docker build -f docker/router.Dockerfile -t proxima-router .
# All three images run the same `proxima` CLI; the build stage is identical so Docker's cache shares it.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble

FROM ${SDK_IMAGE} AS build
WORKDIR /src
COPY . .
RUN dotnet restore Cli/Proxima.Cli.csproj
RUN dotnet publish Cli/Proxima.Cli.csproj -c Release --no-restore -o /app /p:UseAppHost=false

FROM ${RUNTIME_IMAGE} AS runtime
# Native codecs and NetCDF the Arrays layer loads (libnetcdf.so.19, libblosc.so.1, libzstd.so.1, liblz4.so.1).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libnetcdf19t64 libblosc1 libzstd1 liblz4-1 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
# The CLI keeps its state (.proxima/) in the working directory: give the non-root user a writable one.
RUN mkdir -p /var/lib/proxima && chown app:app /var/lib/proxima
ENV DOTNET_gcServer=0 \
    DOTNET_TieredPGO=1
USER app
WORKDIR /var/lib/proxima
EXPOSE 8443
ENTRYPOINT ["dotnet", "/app/proxima.dll"]
CMD ["router", "--port", "8443"]
