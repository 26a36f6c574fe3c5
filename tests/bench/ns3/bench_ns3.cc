/*
 * make bench-ns3: the workloads of tests/bench.sh, built with ns-3 (Debian's
 * libns3-dev, 3.37) as fairly as ns-3 allows, for a side-by-side run
 * (tests/bench-ns3.sh).  The C++ here is a benchmark harness only.
 *
 *   bench-ns3 routed    a chain of 10 routers on 20 Mbit/s, 1 ms links with
 *                       a UDP flow of 60,000 1200-byte datagrams (one a ms)
 *                       across it, and 40 host pairs on 2 ms links with 1%
 *                       loss pinging every 10 ms; 62 virtual seconds
 *   bench-ns3 routed-pcap DIR  the same with a pcap of every link written
 *                       into DIR (one device of each link, both directions,
 *                       as ipsecsim's `capture LINK` writes each frame once)
 *   bench-ns3 pairs N   N two-node pairs, each pinging three times a second
 *                       apart; 5 virtual seconds
 *
 * Fair to ns-3: IPv4 only (no IPv6 stack), no queue disc (FqCoDel is ns-3's
 * default; it and IPv6 cost it about 20%), 1000-frame DropTail device
 * queues, a RateErrorModel for loss, UdpClient/UdpServer and V4Ping as the
 * applications.  The models differ: ns-3's point-to-point links carry PPP
 * with no ARP; ipsecsim's carry Ethernet with ARP.  Frames are counted at
 * the sender in both (PhyTxBegin here, link.sent there).
 *
 * Prints one line: ns3: workload=W nodes=N frames=F setup_ms=S run_ms=R
 * maxrss_kib=K
 */
#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-apps-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/resource.h>

using namespace ns3;

static uint64_t g_frames;
static std::string g_pcap; /* a directory: capture every link there */
static unsigned g_links;

static void
TxBegin(Ptr<const Packet>)
{
    g_frames++;
}

/* Two nodes joined by a point-to-point link with a /24 (or /30) of their own,
 * without a queue disc. */
static Ipv4InterfaceContainer
Join(Ptr<Node> a, Ptr<Node> b, PointToPointHelper& p2p, Ipv4AddressHelper& addr)
{
    NetDeviceContainer d = p2p.Install(a, b);
    if (!g_pcap.empty())
        p2p.EnablePcap(g_pcap + "/link" + std::to_string(g_links++) + ".pcap", d.Get(0), false,
                       true);
    Ipv4InterfaceContainer ifs = addr.Assign(d);
    TrafficControlHelper().Uninstall(d);
    addr.NewNetwork();
    return ifs;
}

/* A point-to-point helper with ipsecsim's 1000-frame device queues. */
static PointToPointHelper
Wire(const char* rate, const char* delay)
{
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", StringValue(rate));
    p2p.SetChannelAttribute("Delay", StringValue(delay));
    p2p.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", StringValue("1000p"));
    return p2p;
}

static unsigned
Routed()
{
    NodeContainer src, dst, r;
    src.Create(1);
    dst.Create(1);
    r.Create(10);
    InternetStackHelper inet;
    inet.SetIpv6StackInstall(false);
    inet.Install(src);
    inet.Install(dst);
    inet.Install(r);

    PointToPointHelper chain = Wire("20Mbps", "1ms");
    Ipv4AddressHelper addr("10.100.0.0", "255.255.255.0");
    Join(src.Get(0), r.Get(0), chain, addr);
    for (int i = 0; i < 9; i++)
        Join(r.Get(i), r.Get(i + 1), chain, addr);
    Ipv4InterfaceContainer last = Join(r.Get(9), dst.Get(0), chain, addr);
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    UdpServerHelper server(9000);
    server.Install(dst.Get(0)).Start(Seconds(0));
    UdpClientHelper client(last.GetAddress(1), 9000);
    client.SetAttribute("MaxPackets", UintegerValue(60000));
    client.SetAttribute("Interval", TimeValue(MilliSeconds(1)));
    client.SetAttribute("PacketSize", UintegerValue(1200));
    client.Install(src.Get(0)).Start(Seconds(1));

    /* the lossy host pairs: ipsecsim's links have no rate limit here */
    PointToPointHelper wire = Wire("100Gbps", "2ms");
    Ipv4AddressHelper paddr("10.0.0.0", "255.255.255.0");
    for (int p = 0; p < 40; p++) {
        NodeContainer h;
        h.Create(2);
        inet.Install(h);
        NetDeviceContainer d = wire.Install(h.Get(0), h.Get(1));
        if (!g_pcap.empty())
            wire.EnablePcap(g_pcap + "/link" + std::to_string(g_links++) + ".pcap",
                            d.Get(0), false, true);
        for (int k = 0; k < 2; k++) {
            Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
            em->SetAttribute("ErrorRate", DoubleValue(0.01));
            em->SetAttribute("ErrorUnit", StringValue("ERROR_UNIT_PACKET"));
            d.Get(k)->SetAttribute("ReceiveErrorModel", PointerValue(em));
        }
        Ipv4InterfaceContainer ifs = paddr.Assign(d);
        TrafficControlHelper().Uninstall(d);
        paddr.NewNetwork();
        V4PingHelper ping(ifs.GetAddress(1));
        ping.SetAttribute("Interval", TimeValue(MilliSeconds(10)));
        ApplicationContainer a = ping.Install(h.Get(0));
        a.Start(Seconds(1));
        a.Stop(Seconds(61)); /* 6000 requests */
    }
    Simulator::Stop(Seconds(62));
    return 92;
}

static unsigned
Pairs(unsigned n)
{
    InternetStackHelper inet;
    inet.SetIpv6StackInstall(false);
    PointToPointHelper wire = Wire("100Gbps", "0ms");
    Ipv4AddressHelper addr("10.0.0.0", "255.255.255.252");
    for (unsigned i = 0; i < n; i++) {
        NodeContainer h;
        h.Create(2);
        inet.Install(h);
        Ipv4InterfaceContainer ifs = Join(h.Get(0), h.Get(1), wire, addr);
        V4PingHelper ping(ifs.GetAddress(0));
        ping.SetAttribute("Interval", TimeValue(Seconds(1)));
        ApplicationContainer a = ping.Install(h.Get(1));
        a.Start(Seconds(1));
        a.Stop(Seconds(3.5)); /* three requests */
    }
    Simulator::Stop(Seconds(5));
    return 2 * n;
}

int
main(int argc, char** argv)
{
    bool routed = !strcmp(argv[1], "routed") && argc == 2;
    bool pcap = !strcmp(argv[1], "routed-pcap") && argc == 3;
    if (!routed && !pcap && (strcmp(argv[1], "pairs") || argc != 3)) {
        fprintf(stderr, "usage: bench-ns3 routed | routed-pcap DIR | pairs N\n");
        return 2;
    }
    if (pcap)
        g_pcap = argv[2];
    auto t0 = std::chrono::steady_clock::now();
    unsigned nodes = routed || pcap ? Routed() : Pairs(std::atoi(argv[2]));
    Config::ConnectWithoutContext("/NodeList/*/DeviceList/*/$ns3::PointToPointNetDevice/PhyTxBegin",
                                  MakeCallback(&TxBegin));
    auto t1 = std::chrono::steady_clock::now();
    Simulator::Run();
    auto t2 = std::chrono::steady_clock::now();
    Simulator::Destroy();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("ns3: workload=%s nodes=%u frames=%llu setup_ms=%.1f run_ms=%.1f maxrss_kib=%ld\n",
           argv[1],
           nodes,
           (unsigned long long)g_frames,
           std::chrono::duration<double, std::milli>(t1 - t0).count(),
           std::chrono::duration<double, std::milli>(t2 - t1).count(),
           ru.ru_maxrss);
    return 0;
}
