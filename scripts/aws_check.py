"""The aws_asg driver end to end against moto's AWS emulation (Auto Scaling and EC2).

Starts `moto_server` and `tidegate run` on 127.0.0.1 with free ports, creates an
Auto Scaling group with boto3, and checks through the AWS API and Tidegate's admin
API that the driver raises the group to the pool's min, lists its instances by
private address, and on a scale-down drains a member and terminates that very
instance with the group's desired capacity lowered. That Tidegate has no AWS_*
keys: it takes an instance role's credentials from moto's emulation of the EC2
instance metadata service (IMDSv2). A second Tidegate then reads the group with
keys from the environment and the metadata service off. Exits non-zero on the
first failed check. Usage: aws_check.py TIDEGATE_BINARY
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

REGION = "eu-west-1"
GROUP = "agents-asg"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, within=30.0):
    """Polls `check` until it returns a true value, which is returned."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    sys.exit(f"aws-check: timed out waiting for {what}")


def admin(address, path, method="GET", body=None):
    request = urllib.request.Request(
        f"http://{address}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


def group(client):
    groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])
    return groups["AutoScalingGroups"][0]


def in_service(client):
    return sorted(i["InstanceId"] for i in group(client)["Instances"] if i["LifecycleState"] == "InService")


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="aws-check-")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # The instance role's credentials, from moto's metadata service.
    role_env = dict(base_env, AWS_EC2_METADATA_SERVICE_ENDPOINT=endpoint)
    keys_env = dict(
        base_env,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_EC2_METADATA_DISABLED="true",
    )
    processes = []
    try:
        moto_log = open(os.path.join(work, "moto.log"), "w")
        moto = os.path.join(os.path.dirname(sys.executable), "moto_server")
        processes.append(subprocess.Popen([moto, "-p", str(port)], stdout=moto_log, stderr=moto_log))

        def moto_up():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_for("moto_server", moto_up)
        kw = dict(region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing", aws_secret_access_key="testing")
        ec2 = boto3.client("ec2", **kw)
        autoscaling = boto3.client("autoscaling", **kw)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        ec2.create_launch_template(
            LaunchTemplateName="agents-template",
            LaunchTemplateData={"ImageId": image, "InstanceType": "t3.micro"},
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=GROUP,
            LaunchTemplate={"LaunchTemplateName": "agents-template"},
            MinSize=0,
            MaxSize=4,
            DesiredCapacity=0,
            AvailabilityZones=[f"{REGION}a"],
        )

        config = os.path.join(work, "tidegate.toml")
        write_config = lambda path, minimum: open(path, "w").write(f"""[admin]
address = "127.0.0.1:0"

[[listener]]
address = "127.0.0.1:0"

[pool.agents]
policy = "least_conn"

[pool.agents.scaler]
driver = "cloud"
min = {minimum}
max = 4

[driver.cloud]
kind = "aws_asg"
region = "{REGION}"
group = "{{pool}}-asg"
port = 8080
endpoint = "{endpoint}"
ec2_endpoint = "{endpoint}"
timeout = "5s"
""")
        write_config(config, 2)

        def start(name, env):
            """Starts `tidegate run` on `config`; returns its admin address."""
            out = open(os.path.join(work, f"{name}.out"), "w+")
            err = open(os.path.join(work, f"{name}.err"), "w")
            processes.append(subprocess.Popen([binary, "run", "-c", config], stdout=out, stderr=err, env=env))

            def admin_address():
                out.seek(0)
                for line in out.read().splitlines():
                    if "admin on http://" in line:
                        return line.rsplit("http://", 1)[1]
                return None

            return wait_for(f"{name}'s admin address", admin_address)

        address = start("tidegate-role", role_env)

        # Up to min: the group's desired capacity, and the pool's members.
        wait_for("desired capacity 2", lambda: group(autoscaling)["DesiredCapacity"] == 2)
        instances = wait_for("two instances in service", lambda: len(in_service(autoscaling)) == 2 and in_service(autoscaling))
        described = ec2.describe_instances(InstanceIds=instances)
        private = {
            i["InstanceId"]: f"{i['PrivateIpAddress']}:8080"
            for r in described["Reservations"]
            for i in r["Instances"]
        }

        def members(address=address):
            backends = admin(address, "/api/v1/pools/agents")["backends"]
            return sorted((b["address"], b["region"]) for b in backends)

        expected = sorted((a, REGION) for a in private.values())
        wait_for(f"the pool's members to be {expected}", lambda: members() == expected)
        print(f"aws-check: group raised to 2; pool members {[a for a, _ in expected]}")

        # Down to one: a member is drained and that very instance terminated.
        admin(address, "/api/v1/pools/agents/scaler", "PUT", {"min": 1, "desired": 1})
        remaining = wait_for("one instance in service", lambda: len(in_service(autoscaling)) == 1 and in_service(autoscaling))
        assert group(autoscaling)["DesiredCapacity"] == 1, group(autoscaling)
        kept = private[remaining[0]]
        wait_for(f"the pool to keep {kept} alone", lambda: [a for a, _ in members()] == [kept])
        events = admin(address, "/api/v1/scaler/events?pool=agents&limit=20")["events"]
        actions = [(a["action"]["kind"], a["result"]["status"]) for e in events for a in e["actions"]]
        assert ("drain", "ok") in actions and ("remove", "ok") in actions, actions
        print(f"aws-check: scaled down to 1; drained and terminated the other instance, kept {kept}")
        moto_log.flush()
        served = open(os.path.join(work, "moto.log")).read()
        for call in ["PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/"]:
            assert call in served, f"the instance role's credentials were not fetched: no {call}"
        print("aws-check: credentials came from the instance metadata service (IMDSv2)")

        # A second Tidegate with keys in the environment and the metadata service off.
        processes.pop().terminate()
        write_config(config, 1)
        address = start("tidegate-keys", keys_env)
        wait_for(f"the second proxy to find {kept}", lambda: [a for a, _ in members(address)] == [kept])
        print("aws-check: with keys from the environment, the group's member is found as well")
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    print("aws-check: the aws_asg driver scales a real Auto Scaling API (moto) up and down")


if __name__ == "__main__":
    main()
