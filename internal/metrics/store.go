package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailhouse/internal/store"
)

// storeCollector reads the store's figures at scrape time.
type storeCollector struct {
	m   *Metrics
	ops store.Ops
}

var (
	descAccountBytes = prometheus.NewDesc(Namespace+"_account_storage_bytes",
		"Bytes of mail an account stores.", []string{"account"}, nil)
	descAccountMessages = prometheus.NewDesc(Namespace+"_account_messages",
		"Messages an account stores.", []string{"account"}, nil)
	descStorageBytes = prometheus.NewDesc(Namespace+"_storage_bytes",
		"Bytes of mail stored in all accounts.", nil, nil)
	descAccounts = prometheus.NewDesc(Namespace+"_accounts",
		"Accounts.", nil, nil)
	descStoreFileBytes = prometheus.NewDesc(Namespace+"_store_file_bytes",
		"Size of the store's files on disk (database and write-ahead log).", nil, nil)
	descQueueSize = prometheus.NewDesc(Namespace+"_queue_messages",
		"Messages in the outbound queue.", nil, nil)
	descQueueBytes = prometheus.NewDesc(Namespace+"_queue_bytes",
		"Bytes of messages in the outbound queue.", nil, nil)
	descQueueAge = prometheus.NewDesc(Namespace+"_queue_oldest_age_seconds",
		"Age of the oldest message in the outbound queue (0 when it is empty).", nil, nil)
	descStatsUp = prometheus.NewDesc(Namespace+"_store_stats_up",
		"1 when the store answered the metrics query of this scrape.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descAccountBytes, descAccountMessages, descStorageBytes, descAccounts,
		descStoreFileBytes, descQueueSize, descQueueBytes, descQueueAge, descStatsUp} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := c.m.statsContext()
	defer cancel()
	st, err := c.ops.Stats(ctx)
	if err != nil {
		c.m.log.Warn("metrics: reading store figures", "err", err)
		ch <- prometheus.MustNewConstMetric(descStatsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descStatsUp, prometheus.GaugeValue, 1)
	var total int64
	perAccount := c.m.o.MaxAccountSeries > 0 && len(st.Accounts) <= c.m.o.MaxAccountSeries
	for _, a := range st.Accounts {
		total += a.Bytes
		if perAccount {
			ch <- prometheus.MustNewConstMetric(descAccountBytes, prometheus.GaugeValue, float64(a.Bytes), a.Address)
			ch <- prometheus.MustNewConstMetric(descAccountMessages, prometheus.GaugeValue, float64(a.Messages), a.Address)
		}
	}
	ch <- prometheus.MustNewConstMetric(descStorageBytes, prometheus.GaugeValue, float64(total))
	ch <- prometheus.MustNewConstMetric(descAccounts, prometheus.GaugeValue, float64(len(st.Accounts)))
	ch <- prometheus.MustNewConstMetric(descStoreFileBytes, prometheus.GaugeValue, float64(st.StoreBytes))
	ch <- prometheus.MustNewConstMetric(descQueueSize, prometheus.GaugeValue, float64(st.QueueEntries))
	ch <- prometheus.MustNewConstMetric(descQueueBytes, prometheus.GaugeValue, float64(st.QueueBytes))
	age := 0.0
	if !st.QueueOldest.IsZero() {
		age = max(0, time.Since(st.QueueOldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descQueueAge, prometheus.GaugeValue, age)
}
