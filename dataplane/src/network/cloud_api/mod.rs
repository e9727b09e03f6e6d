//! cloud_api: the connector for Meta's WhatsApp Business Platform (Cloud API), reached over
//! HTTPS through the Graph API (issue 12). It turns the seam's sends and account calls into
//! Graph API requests and the network's webhook notifications into [`super::NetworkEvent`]s.
//! It knows nothing of Z-API: the dialect and the HTTP route that receives notifications stay at
//! the edge.
