#!/usr/bin/env bash
# `make deploy-check`: the deployment files, checked offline (no engine, no cluster).
#   compose: the compose spec's JSON schema, then `docker compose config` (CPU, GPU, split and ha profiles, lab)
#   Kubernetes: every overlay rendered by kustomize, validated strictly against two versions,
#               no image without a version tag
#   Dockerfile: hadolint; everything: checkov's policies (k8s/checkov.yaml says what is skipped, and why)
#   alerts: promtool checks the rules file and the PrometheusRule's groups, and runs rules.test.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=${DEPLOY_VENV:-.venv-deploy}/bin
K8S_VERSIONS=${K8S_VERSIONS:-"1.30.0 1.34.0"}
OUT=out/k8s
mkdir -p "$OUT"

plugin_dir=$(mktemp -d)
trap 'rm -rf "$plugin_dir"' EXIT
mkdir -p "$plugin_dir/cli-plugins"
ln -s "$("$TOOLS/python" -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')" \
  "$plugin_dir/cli-plugins/docker-compose"
compose() { DOCKER_CONFIG="$plugin_dir" docker compose "$@"; }

echo "== compose"
"$TOOLS/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
compose -f docker-compose.yml config --quiet
compose -f docker-compose.yml --profile gpu config --quiet
compose -f docker-compose.yml --profile split config --quiet
compose -f docker-compose.yml --profile ha config --quiet
VFER_REDIS_PORT=1 compose -f docker-compose.yml -f tests/deploy/compose.lab.yml config --quiet
VFER_REDIS_PORT=1 compose -f docker-compose.yml -f tests/deploy/compose.lab.yml --profile ha config --quiet

echo "== kubernetes (KEDA's ScaledObject has no schema here: kustomize checks its shape only)"
# The optional components, rendered too: the HPA fallback in place of KEDA, the Ingress example.
mkdir -p "$OUT/with-hpa-and-ingress"
cat > "$OUT/with-hpa-and-ingress/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: vfer
resources: [../../../k8s/base]
components: [../../../k8s/components/hpa, ../../../k8s/components/ingress, ../../../k8s/components/monitoring]
images:
  - {name: vfer-gateway, newName: registry.example.com/vfer/vfer-gateway, newTag: 0.1.0}
  - {name: vfer-worker, newName: registry.example.com/vfer/vfer-worker, newTag: 0.1.0}
YAML
for overlay in k8s/overlays/*/ "$OUT/with-hpa-and-ingress/"; do
  name=$(basename "$overlay")
  kubectl kustomize "$overlay" > "$OUT/$name.yaml"
  for version in $K8S_VERSIONS; do
    "$TOOLS/kubernetes-validate" --strict --quiet -k "$version" "$OUT/$name.yaml"
  done
  if grep -E '^\s+image: ' "$OUT/$name.yaml" | grep -vE ':[0-9][^:/]*$'; then
    echo "$name: an image above has no version tag (or uses latest)" >&2
    exit 1
  fi
  echo "$name: $(grep -c '^kind:' "$OUT/$name.yaml") resources valid on Kubernetes $K8S_VERSIONS"
done

echo "== alerts (promtool)"
MONITORING=k8s/components/monitoring
promtool=$(realpath "$TOOLS/promtool")
"$promtool" check rules "$MONITORING/vfer-rules.yaml"
"$TOOLS/python" -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], sys.stdout)' \
  "$MONITORING/prometheusrule.yaml" > "$OUT/prometheusrule-groups.yaml"
"$promtool" check rules "$OUT/prometheusrule-groups.yaml"
(cd "$MONITORING" && "$promtool" test rules rules.test.yaml)

echo "== dockerfile"
"$TOOLS/hadolint" Dockerfile

echo "== policies (checkov)"
"$TOOLS/checkov" --skip-download --quiet --compact --config-file k8s/checkov.yaml --framework kubernetes \
  $(for f in "$OUT"/*.yaml; do printf -- '-f %s ' "$f"; done)
"$TOOLS/checkov" --skip-download --quiet --compact --framework dockerfile -f Dockerfile
echo "deploy-check: all passed"
