"""Creates the demo endpoint with unmodified boto3 and shows InvokeEndpoint answering."""
import json
import os
import sys
import time

import boto3
from botocore.config import Config

url = sys.argv[1]
session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1")
sm = session.client("sagemaker", endpoint_url=url, config=Config(retries={"max_attempts": 1}))
rt = session.client("sagemaker-runtime", endpoint_url=url)


def exists(fn, **kw):
    try:
        fn(**kw)
        return True
    except sm.exceptions.ClientError as e:
        if "Could not find" in str(e):
            return False
        raise


if not exists(sm.describe_model, ModelName="demo-model"):
    sm.create_model(ModelName="demo-model", PrimaryContainer={"Image": "guardrail/model:v1"})
if not exists(sm.describe_endpoint_config, EndpointConfigName="demo-config"):
    sm.create_endpoint_config(
        EndpointConfigName="demo-config",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "demo-model",
                             "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}],
    )
if not exists(sm.describe_endpoint, EndpointName="demo"):
    sm.create_endpoint(EndpointName="demo", EndpointConfigName="demo-config")

deadline = time.time() + 60
while True:
    d = sm.describe_endpoint(EndpointName="demo")
    v = d["ProductionVariants"][0]
    print(f"  endpoint demo: {d['EndpointStatus']}, {v.get('CurrentInstanceCount', 0)}/{v.get('DesiredInstanceCount')} instances ready")
    if d["EndpointStatus"] == "InService" and v.get("CurrentInstanceCount") == v.get("DesiredInstanceCount"):
        break
    if d["EndpointStatus"] == "Failed" or time.time() > deadline:
        sys.exit(f"demo endpoint did not become ready: {d.get('FailureReason')}")
    time.sleep(0.5)

for i in range(3):
    r = rt.invoke_endpoint(EndpointName="demo", ContentType="application/json", Body=json.dumps({"x": i}))
    print(f"  InvokeEndpoint -> variant {r['InvokedProductionVariant']}: {r['Body'].read().decode()}")

print(f"""
Guardrail is serving the endpoint "demo" at {url}. Try, from another shell:

  export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1
  .venv/bin/aws sagemaker list-endpoints --endpoint-url {url}
  .venv/bin/aws sagemaker describe-endpoint --endpoint-name demo --endpoint-url {url}
  .venv/bin/aws sagemaker-runtime invoke-endpoint --endpoint-name demo --body '{{"x":1}}' \\
      --content-type application/json --endpoint-url {url} /dev/stdout

or in Python:

  import boto3
  rt = boto3.client("sagemaker-runtime", endpoint_url="{url}", region_name="us-east-1")
  rt.invoke_endpoint(EndpointName="demo", Body=b'{{"x":1}}', ContentType="application/json")["Body"].read()

Press Ctrl-C to stop Guardrail (it stops its instances; state stays in ./guardrail-data).""")
